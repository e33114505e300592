// Runs the model's CUDA kernels on the CPU (through shim.hpp) for the Rust tests: a small
// request/reply loop on stdin/stdout that allocates "device" buffers, copies bytes in and out
// and launches kernels by name. The Rust side is `CpuShimExecutor` in ../mod.rs; both sides
// use little-endian integers:
//
//   request  = op:u8 ...            reply = 0:u8 ... | 1:u8 len:u32 message
//   1 alloc    bytes:u64            -> id:u64 (buffer zeroed)
//   2 free     id:u64
//   3 zero     id:u64
//   4 upload   id:u64 len:u64 bytes
//   5 download id:u64 len:u64      -> bytes
//   6 launch   name_len:u32 name grid_x:u32 grid_y:u32 block:u32 shared:u32 n:u32
//              n x (tag:u8 value:u64)   tag 0 buffer id, 1 unsigned, 2 float bits

#include "shim.hpp"
#include "common.cuh"
#include "gradients.cu"
#include "histogram.cu"
#include "split.cu"
#include "partition.cu"
#include "predict.cu"

#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

namespace {

struct Buffer {
    std::vector<double> words;  // doubles, so every kernel type is aligned
    std::size_t bytes = 0;
    bool live = false;
};

std::vector<Buffer> buffers;

struct Arg {
    std::uint8_t tag;
    std::uint64_t value;
};

void read_exact(void* out, std::size_t n) {
    if (n != 0 && std::fread(out, 1, n, stdin) != n) throw std::runtime_error("input ended");
}

template <typename T>
T read_value() {
    T value;
    read_exact(&value, sizeof value);
    return value;
}

void write_bytes(const void* data, std::size_t n) {
    if (n != 0 && std::fwrite(data, 1, n, stdout) != n) throw std::runtime_error("output closed");
}

Buffer& buffer(std::uint64_t id) {
    if (id >= buffers.size() || !buffers[id].live) throw std::runtime_error("no buffer " + std::to_string(id));
    return buffers[id];
}

// The buffer whose id comes next on the input.
Buffer& next_buffer() {
    return buffer(read_value<std::uint64_t>());
}

// The byte count that comes next on the input, refused when `b` holds fewer (`what`: the copy).
std::uint64_t next_size_within(const Buffer& b, const char* what) {
    auto n = read_value<std::uint64_t>();
    if (n > b.bytes) throw std::runtime_error(std::string(what) + " larger than its buffer");
    return n;
}

// Kernel argument accessors, checked against the tag the Rust side sent.
struct Args {
    const std::vector<Arg>& list;
    std::size_t expected;
    const char* kernel;

    const Arg& at(std::size_t i, std::uint8_t tag) const {
        if (list.size() != expected) throw std::runtime_error(std::string(kernel) + ": wrong argument count");
        if (list[i].tag != tag) throw std::runtime_error(std::string(kernel) + ": wrong argument kind at " + std::to_string(i));
        return list[i];
    }
    template <typename T>
    T* ptr(std::size_t i) const {
        return reinterpret_cast<T*>(buffer(at(i, 0).value).words.data());
    }
    unsigned u32(std::size_t i) const { return static_cast<unsigned>(at(i, 1).value); }
    float f32(std::size_t i) const {
        std::uint32_t bits = static_cast<std::uint32_t>(at(i, 2).value);
        float value;
        std::memcpy(&value, &bits, sizeof value);
        return value;
    }
};

using Launcher = std::function<void(const Args&)>;

std::map<std::string, std::pair<std::size_t, Launcher>> kernels() {
    using US = unsigned short;
    return {
        {"squared_error_gradients", {5, [](const Args& a) {
             squared_error_gradients(a.ptr<const float>(0), a.ptr<const float>(1), a.ptr<float>(2),
                                     a.ptr<float>(3), a.u32(4));
         }}},
        {"sum_gradients", {5, [](const Args& a) {
             sum_gradients(a.ptr<const unsigned>(0), a.u32(1), a.ptr<const float>(2), a.ptr<const float>(3),
                           a.ptr<double>(4));
         }}},
        {"build_histograms_shared", {11, [](const Args& a) {
             build_histograms_shared(a.ptr<const US>(0), a.u32(1), a.ptr<const unsigned>(2), a.u32(3),
                                     a.ptr<const float>(4), a.ptr<const float>(5), a.ptr<const unsigned>(6),
                                     a.ptr<const unsigned>(7), a.ptr<const unsigned>(8),
                                     a.ptr<const unsigned>(9), a.ptr<double>(10));
         }}},
        {"build_histograms_global", {11, [](const Args& a) {
             build_histograms_global(a.ptr<const US>(0), a.u32(1), a.ptr<const unsigned>(2), a.u32(3),
                                     a.ptr<const float>(4), a.ptr<const float>(5), a.ptr<const unsigned>(6),
                                     a.ptr<const unsigned>(7), a.ptr<const unsigned>(8),
                                     a.ptr<const unsigned>(9), a.ptr<double>(10));
         }}},
        {"subtract_histograms", {7, [](const Args& a) {
             subtract_histograms(a.ptr<const double>(0), a.ptr<const unsigned>(1), a.ptr<double>(2),
                                 a.ptr<const unsigned>(3), a.ptr<const unsigned>(4), a.u32(5), a.u32(6));
         }}},
        {"evaluate_splits", {10, [](const Args& a) {
             evaluate_splits(a.ptr<const double>(0), a.u32(1), a.ptr<const unsigned>(2), a.ptr<const unsigned>(3),
                             a.u32(4), a.ptr<const double>(5), a.u32(6), a.f32(7), a.f32(8), a.ptr<double>(9));
         }}},
        {"pick_best_splits", {4, [](const Args& a) {
             pick_best_splits(a.ptr<const double>(0), a.u32(1), a.u32(2), a.ptr<double>(3));
         }}},
        {"partition_rows", {10, [](const Args& a) {
             partition_rows(a.ptr<const US>(0), a.u32(1), a.ptr<unsigned>(2), a.ptr<unsigned>(3),
                            a.ptr<const unsigned>(4), a.ptr<const unsigned>(5), a.ptr<const unsigned>(6),
                            a.ptr<const unsigned>(7), a.ptr<const unsigned>(8), a.ptr<unsigned>(9));
         }}},
        {"add_tree_outputs", {9, [](const Args& a) {
             add_tree_outputs(a.ptr<const US>(0), a.u32(1), a.u32(2), a.ptr<const unsigned>(3),
                              a.ptr<const unsigned>(4), a.ptr<const unsigned>(5), a.ptr<const unsigned>(6),
                              a.ptr<const float>(7), a.ptr<float>(8));
         }}},
        {"predict_forest", {11, [](const Args& a) {
             predict_forest(a.ptr<const float>(0), a.u32(1), a.u32(2), a.ptr<const unsigned>(3),
                            a.ptr<const float>(4), a.ptr<const unsigned>(5), a.ptr<const unsigned>(6),
                            a.ptr<const unsigned>(7), a.u32(8), a.f32(9), a.ptr<float>(10));
         }}},
    };
}

void ok() {
    std::uint8_t status = 0;
    write_bytes(&status, 1);
}

void serve_one(std::uint8_t op, const std::map<std::string, std::pair<std::size_t, Launcher>>& table) {
    switch (op) {
        case 1: {
            auto bytes = read_value<std::uint64_t>();
            Buffer fresh;
            fresh.words.assign((bytes + 7) / 8, 0.0);
            fresh.bytes = bytes;
            fresh.live = true;
            buffers.push_back(std::move(fresh));
            ok();
            std::uint64_t id = buffers.size() - 1;
            write_bytes(&id, sizeof id);
            return;
        }
        case 2:
            next_buffer() = Buffer{};
            ok();
            return;
        case 3: {
            Buffer& b = next_buffer();
            std::fill(b.words.begin(), b.words.end(), 0.0);
            ok();
            return;
        }
        case 4: {
            Buffer& b = next_buffer();
            read_exact(b.words.data(), next_size_within(b, "upload"));
            ok();
            return;
        }
        case 5: {
            Buffer& b = next_buffer();
            auto n = next_size_within(b, "download");
            ok();
            write_bytes(b.words.data(), n);
            return;
        }
        case 6: {
            auto name_length = read_value<std::uint32_t>();
            std::string name(name_length, '\0');
            read_exact(name.data(), name_length);
            dim3 grid{read_value<std::uint32_t>(), read_value<std::uint32_t>(), 1};
            dim3 block{read_value<std::uint32_t>(), 1, 1};
            auto shared_bytes = read_value<std::uint32_t>();
            std::vector<Arg> list(read_value<std::uint32_t>());
            for (Arg& arg : list) {
                arg.tag = read_value<std::uint8_t>();
                arg.value = read_value<std::uint64_t>();
            }
            auto found = table.find(name);
            if (found == table.end()) throw std::runtime_error("no kernel " + name);
            if (shared_bytes > sizeof shared_words) throw std::runtime_error("too much shared memory");
            Args args{list, found->second.first, found->first.c_str()};
            args.at(0, list.empty() ? 0 : list[0].tag);  // checks the count before anything runs
            shim_launch(grid, block, [&] { found->second.second(args); });
            ok();
            return;
        }
        default:
            throw std::runtime_error("unknown request " + std::to_string(op));
    }
}

}  // namespace

int main() {
    auto table = kernels();
    std::uint8_t op;
    while (std::fread(&op, 1, 1, stdin) == 1) {
        try {
            serve_one(op, table);
        } catch (const std::exception& error) {
            // The request may be half read, so the conversation ends after the error reply.
            std::string message = error.what();
            std::uint8_t status = 1;
            std::uint32_t length = static_cast<std::uint32_t>(message.size());
            write_bytes(&status, 1);
            write_bytes(&length, sizeof length);
            write_bytes(message.data(), message.size());
            std::fflush(stdout);
            return 1;
        }
        std::fflush(stdout);
    }
    return 0;
}

// Just enough of CUDA to compile the model's kernels (dataflow/model/src/cuda/kernels/*.cu)
// as plain C++ and run them on the CPU, so their logic is tested on machines without a GPU.
//
// A launch runs its blocks one after another; inside a block every CUDA thread is a real
// std::thread, so `__syncthreads()` is a std::barrier and atomics are real atomics, and the
// kernels see the same kinds of interleavings they see on a GPU (not the same schedule). Keep
// blocks small: each thread is an OS thread.

#pragma once

#include <atomic>
#include <barrier>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

inline thread_local dim3 threadIdx;
inline thread_local dim3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;

#define __global__
#define __device__
#define __shared__

// Dynamic shared memory of the running block (blocks run one at a time, so one buffer does).
constexpr std::size_t SHIM_SHARED_WORDS = 1 << 17;  // 1 MiB, more than any launch asks for
double shared_words[SHIM_SHARED_WORDS];

inline std::barrier<>* shim_block_barrier = nullptr;

inline void __syncthreads() { shim_block_barrier->arrive_and_wait(); }

inline double atomicAdd(double* address, double value) {
    return std::atomic_ref<double>(*address).fetch_add(value, std::memory_order_relaxed);
}

inline float atomicAdd(float* address, float value) {
    return std::atomic_ref<float>(*address).fetch_add(value, std::memory_order_relaxed);
}

inline unsigned atomicAdd(unsigned* address, unsigned value) {
    return std::atomic_ref<unsigned>(*address).fetch_add(value, std::memory_order_relaxed);
}

inline unsigned __float_as_uint(float value) {
    unsigned bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

// Runs `body` as a kernel launch: blocks in order, the threads of a block concurrently.
// Shared memory is filled with NaN bytes before each block, so a kernel that reads it before
// writing it gets garbage, as it could on a GPU.
template <typename Body>
void shim_launch(dim3 grid, dim3 block, Body body) {
    gridDim = grid;
    blockDim = block;
    unsigned threads = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                std::memset(shared_words, 0xFF, sizeof shared_words);
                std::barrier<> barrier(threads);
                shim_block_barrier = &barrier;
                std::vector<std::thread> pool;
                pool.reserve(threads);
                for (unsigned t = 0; t < threads; ++t) {
                    pool.emplace_back([=] {
                        blockIdx = dim3{bx, by, bz};
                        threadIdx = dim3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                        body();
                    });
                }
                for (auto& thread : pool) thread.join();
                shim_block_barrier = nullptr;
            }
}

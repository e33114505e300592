// Definitions every kernel file uses. The Rust side puts this file in front of each .cu file
// before NVRTC compiles it (NVRTC gets no include paths), and the CPU shim includes it once.
//
// Conventions of all kernels:
// - `extern "C"`, so the Rust side finds them by their plain names;
// - grid-stride loops, so any grid and block size gives the same result;
// - no headers: NVRTC compiles them without the CUDA toolkit's include files.

// Bin number of a missing input (`MISSING_BIN` in binned.rs).
#define MISSING_BIN 0xFFFFu
// `feature` of a leaf node (`LEAF` in forest.rs).
#define LEAF_NODE 0xFFFFFFFFu

// The launch's dynamic shared memory; a kernel that needs some carves its arrays from it.
extern __shared__ double shared_words[];

// Whether a float is finite (not NaN, not infinite): exponent bits not all ones.
__device__ inline bool is_finite_value(float value) {
    return (__float_as_uint(value) & 0x7F800000u) != 0x7F800000u;
}

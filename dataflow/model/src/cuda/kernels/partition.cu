// Row partitioning (partition.rs): after a level's splits, each split node's rows
// `rows[row_start[s] .. row_start[s] + row_count[s])` are reordered so that the rows going left
// come first, both sides keeping their order (stable, like the CPU, so that later histogram
// sums see rows in the same order). `left_counts[s]` gets the number of rows that went left.
//
// One block per split (blockIdx.x). Shared memory: blockDim.x + 1 unsigned ints (round up to
// doubles). Three passes: count the left rows; in tiles of blockDim.x rows, an inclusive scan
// of the left flags gives every row its place in `scratch`; copy the range back to `rows`.

__device__ inline bool row_goes_left(
    const unsigned short* bins, unsigned n_features, unsigned row, unsigned feature,
    unsigned right_start, unsigned default_left) {
    unsigned bin = bins[(unsigned long long)row * n_features + feature];
    if (bin == MISSING_BIN) {
        return default_left != 0;
    }
    return bin < right_start;
}

extern "C" __global__ void partition_rows(
    const unsigned short* bins, unsigned n_features, unsigned* rows, unsigned* scratch,
    const unsigned* row_start, const unsigned* row_count, const unsigned* split_feature,
    const unsigned* split_right_start, const unsigned* split_default_left,
    unsigned* left_counts) {
    unsigned* scan = (unsigned*)shared_words;
    unsigned* total = scan + blockDim.x;
    unsigned split = blockIdx.x;
    unsigned start = row_start[split];
    unsigned count = row_count[split];
    unsigned feature = split_feature[split];
    unsigned right_start = split_right_start[split];
    unsigned default_left = split_default_left[split];
    unsigned t = threadIdx.x;

    if (t == 0) {
        *total = 0;
    }
    __syncthreads();
    unsigned mine = 0;
    for (unsigned i = t; i < count; i += blockDim.x) {
        mine += row_goes_left(bins, n_features, rows[start + i], feature, right_start, default_left) ? 1u : 0u;
    }
    atomicAdd(total, mine);
    __syncthreads();
    unsigned n_left = *total;

    unsigned lefts_before = 0;
    for (unsigned tile = 0; tile < count; tile += blockDim.x) {
        unsigned i = tile + t;
        unsigned row = 0;
        unsigned left = 0;
        if (i < count) {
            row = rows[start + i];
            left = row_goes_left(bins, n_features, row, feature, right_start, default_left) ? 1u : 0u;
        }
        scan[t] = left;
        __syncthreads();
        for (unsigned offset = 1; offset < blockDim.x; offset *= 2) {
            unsigned add = t >= offset ? scan[t - offset] : 0u;
            __syncthreads();
            scan[t] += add;
            __syncthreads();
        }
        unsigned lefts_before_me = lefts_before + scan[t] - left;
        if (i < count) {
            if (left) {
                scratch[start + lefts_before_me] = row;
            } else {
                scratch[start + n_left + (i - lefts_before_me)] = row;
            }
        }
        lefts_before += scan[blockDim.x - 1];
        __syncthreads();
    }

    // __syncthreads() above also made this block's writes to `scratch` visible to all its threads.
    for (unsigned i = t; i < count; i += blockDim.x) {
        rows[start + i] = scratch[start + i];
    }
    if (t == 0) {
        left_counts[split] = n_left;
    }
}

// Gradient histograms (histogram.rs): per node, input and bin, the f64 sums of the gradients
// and hessians of the node's rows. Layout of a histogram: `total_bins` cells of (g, h),
// input after input (`feature_offsets[f]` is where input f's bins start); node `k` of a launch
// writes histogram `slots[k]` of `histograms`, which the caller zeroed.
//
// blockIdx.y picks the node, blockIdx.x and threadIdx.x stride over its rows
// (`rows[row_start[k] .. row_start[k] + row_count[k])`). Float atomics make the order of the
// additions vary from run to run, so sums can differ from the CPU's in the last bits.

__device__ inline void add_row_to_histogram(
    double* cells, const unsigned short* bins, unsigned n_features,
    const unsigned* feature_offsets, unsigned row, double g, double h) {
    const unsigned short* row_bins = bins + (unsigned long long)row * n_features;
    for (unsigned f = 0; f < n_features; ++f) {
        unsigned bin = row_bins[f];
        if (bin != MISSING_BIN) {
            unsigned cell = feature_offsets[f] + bin;
            atomicAdd(&cells[2 * cell], g);
            atomicAdd(&cells[2 * cell + 1], h);
        }
    }
}

// Each block first sums into shared memory (2 * total_bins doubles, the launch's shared
// memory), then adds its non-zero cells to the node's histogram in global memory: far fewer
// global atomics when many rows share few bins.
extern "C" __global__ void build_histograms_shared(
    const unsigned short* bins, unsigned n_features, const unsigned* feature_offsets,
    unsigned total_bins, const float* grad, const float* hess, const unsigned* rows,
    const unsigned* row_start, const unsigned* row_count, const unsigned* slots,
    double* histograms) {
    double* cells = shared_words;
    for (unsigned i = threadIdx.x; i < 2 * total_bins; i += blockDim.x) {
        cells[i] = 0.0;
    }
    __syncthreads();
    unsigned node = blockIdx.y;
    unsigned start = row_start[node];
    unsigned count = row_count[node];
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += blockDim.x * gridDim.x) {
        unsigned row = rows[start + i];
        add_row_to_histogram(cells, bins, n_features, feature_offsets, row,
                             (double)grad[row], (double)hess[row]);
    }
    __syncthreads();
    double* out = histograms + (unsigned long long)slots[node] * 2 * total_bins;
    for (unsigned i = threadIdx.x; i < 2 * total_bins; i += blockDim.x) {
        if (cells[i] != 0.0) {
            atomicAdd(&out[i], cells[i]);
        }
    }
}

// The same without shared memory, for histograms too large for it (many inputs or bins).
extern "C" __global__ void build_histograms_global(
    const unsigned short* bins, unsigned n_features, const unsigned* feature_offsets,
    unsigned total_bins, const float* grad, const float* hess, const unsigned* rows,
    const unsigned* row_start, const unsigned* row_count, const unsigned* slots,
    double* histograms) {
    unsigned node = blockIdx.y;
    unsigned start = row_start[node];
    unsigned count = row_count[node];
    double* out = histograms + (unsigned long long)slots[node] * 2 * total_bins;
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += blockDim.x * gridDim.x) {
        unsigned row = rows[start + i];
        add_row_to_histogram(out, bins, n_features, feature_offsets, row,
                             (double)grad[row], (double)hess[row]);
    }
}

// The subtraction trick: for pair k, children[sibling_slots[k]] = parents[parent_slots[k]] -
// children[built_slots[k]] (exact same f64 subtraction as the CPU's).
extern "C" __global__ void subtract_histograms(
    const double* parents, const unsigned* parent_slots, double* children,
    const unsigned* built_slots, const unsigned* sibling_slots, unsigned n_pairs,
    unsigned total_bins) {
    unsigned long long per_histogram = 2ull * total_bins;
    unsigned long long n = per_histogram * n_pairs;
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (unsigned long long)blockDim.x * gridDim.x) {
        unsigned long long pair = i / per_histogram;
        unsigned long long cell = i % per_histogram;
        double parent = parents[parent_slots[pair] * per_histogram + cell];
        double built = children[built_slots[pair] * per_histogram + cell];
        children[sibling_slots[pair] * per_histogram + cell] = parent - built;
    }
}

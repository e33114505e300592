// Squared error: every row's gradient is `prediction - target` and its hessian 1
// (booster.rs), and the sums of a node's gradient pairs in f64.

extern "C" __global__ void squared_error_gradients(
    const float* predictions, const float* targets, float* grad, float* hess, unsigned n_rows) {
    for (unsigned row = blockIdx.x * blockDim.x + threadIdx.x; row < n_rows;
         row += blockDim.x * gridDim.x) {
        grad[row] = predictions[row] - targets[row];
        hess[row] = 1.0f;
    }
}

// sums[0] += sum of grad over rows[0..n), sums[1] += sum of hess (sums zeroed by the caller).
// Shared memory: 2 doubles.
extern "C" __global__ void sum_gradients(
    const unsigned* rows, unsigned n, const float* grad, const float* hess, double* sums) {
    double* block_sums = shared_words;
    if (threadIdx.x == 0) {
        block_sums[0] = 0.0;
        block_sums[1] = 0.0;
    }
    __syncthreads();
    double g = 0.0;
    double h = 0.0;
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        unsigned row = rows[i];
        g += (double)grad[row];
        h += (double)hess[row];
    }
    atomicAdd(&block_sums[0], g);
    atomicAdd(&block_sums[1], h);
    __syncthreads();
    if (threadIdx.x == 0) {
        atomicAdd(&sums[0], block_sums[0]);
        atomicAdd(&sums[1], block_sums[1]);
    }
}

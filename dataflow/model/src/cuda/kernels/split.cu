// Split search (split.rs), in the same f32/f64 roundings as the CPU so that equal histograms
// give bit-identical choices. One thread scans one (node, input) pair sequentially, exactly as
// the CPU does: a parallel prefix sum would add in another order and could flip near-ties.
//
// A candidate is 8 doubles: loss change (an f32 value), input, first bin going right, default
// left (0/1), left g, left h, right g, right h. "No split" is all zeros.
// A node's stats are 3 doubles: g sum, h sum, score (an f32 value). Node k's histogram is
// histogram k of `histograms` (the layout of histogram.cu).

#define CANDIDATE_WORDS 8

// G^2 / (H + lambda), each side rounded to f32 as XGBoost does (`Penalties::score`).
__device__ inline float split_score(double g, double h, float lambda) {
    if (h <= 0.0) {
        return 0.0f;
    }
    return (float)(g * g) / (float)(h + (double)lambda);
}

struct SplitBest {
    float loss_change;
    unsigned right_start;
    bool default_left;
    double left_g, left_h, right_g, right_h;
    bool found;
};

__device__ inline void consider_split(
    SplitBest* best, double left_g, double left_h, double right_g, double right_h,
    unsigned right_start, bool default_left, float node_score, float lambda,
    double min_child_weight) {
    if (left_h >= min_child_weight && right_h >= min_child_weight) {
        float loss_change = (split_score(left_g, left_h, lambda) + split_score(right_g, right_h, lambda))
                            - node_score;
        if (is_finite_value(loss_change) && loss_change > best->loss_change) {
            best->loss_change = loss_change;
            best->right_start = right_start;
            best->default_left = default_left;
            best->left_g = left_g;
            best->left_h = left_h;
            best->right_g = right_g;
            best->right_h = right_h;
            best->found = true;
        }
    }
}

// Adds the gradient and hessian sums of histogram cell `bin` to (*g, *h); false, adding
// nothing, for an empty bin.
__device__ inline bool add_cell(const double* cells, unsigned bin, double* g, double* h) {
    double cell_g = cells[2 * bin];
    double cell_h = cells[2 * bin + 1];
    if (cell_g == 0.0 && cell_h == 0.0) {
        return false;
    }
    *g = *g + cell_g;
    *h = *h + cell_h;
    return true;
}

// candidates[(node * n_sampled + k) * 8 ..]: the best split of node `node` on input
// `features[k]`: every bin boundary with missing values sent right, then, if the node has
// missing values for the input, every boundary with them sent left. Empty bins are skipped
// (they repeat the previous boundary, which never wins).
extern "C" __global__ void evaluate_splits(
    const double* histograms, unsigned total_bins, const unsigned* feature_offsets,
    const unsigned* features, unsigned n_sampled, const double* node_stats, unsigned n_nodes,
    float lambda, float min_child_weight, double* candidates) {
    unsigned long long n = (unsigned long long)n_nodes * n_sampled;
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (unsigned long long)blockDim.x * gridDim.x) {
        unsigned node = (unsigned)(i / n_sampled);
        unsigned feature = features[i % n_sampled];
        const double* cells = histograms + (unsigned long long)node * 2 * total_bins
                              + 2ull * feature_offsets[feature];
        unsigned n_bins = feature_offsets[feature + 1] - feature_offsets[feature];
        double sum_g = node_stats[3 * node];
        double sum_h = node_stats[3 * node + 1];
        float node_score = (float)node_stats[3 * node + 2];
        double min_weight = (double)min_child_weight;
        SplitBest best = {0.0f, 0u, false, 0.0, 0.0, 0.0, 0.0, false};
        double present_g = 0.0;
        double present_h = 0.0;
        for (unsigned bin = 0; bin < n_bins; ++bin) {
            if (!add_cell(cells, bin, &present_g, &present_h)) {
                continue;
            }
            consider_split(&best, present_g, present_h, sum_g - present_g, sum_h - present_h,
                           bin + 1, false, node_score, lambda, min_weight);
        }
        if (present_h != sum_h) {
            double right_g = 0.0;
            double right_h = 0.0;
            for (unsigned bin = n_bins; bin-- > 0;) {
                if (!add_cell(cells, bin, &right_g, &right_h)) {
                    continue;
                }
                consider_split(&best, sum_g - right_g, sum_h - right_h, right_g, right_h, bin, true,
                               node_score, lambda, min_weight);
            }
        }
        double* out = candidates + i * CANDIDATE_WORDS;
        if (best.found) {
            out[0] = (double)best.loss_change;
            out[1] = (double)feature;
            out[2] = (double)best.right_start;
            out[3] = best.default_left ? 1.0 : 0.0;
            out[4] = best.left_g;
            out[5] = best.left_h;
            out[6] = best.right_g;
            out[7] = best.right_h;
        } else {
            for (unsigned w = 0; w < CANDIDATE_WORDS; ++w) {
                out[w] = 0.0;
            }
        }
    }
}

// best[node * 8 ..]: the best of a node's per-input candidates, in input order, by
// `SplitCandidate::update`: a strictly larger loss change wins, and an equal one on a lower
// input. One thread per node.
extern "C" __global__ void pick_best_splits(
    const double* candidates, unsigned n_sampled, unsigned n_nodes, double* best) {
    for (unsigned node = blockIdx.x * blockDim.x + threadIdx.x; node < n_nodes;
         node += blockDim.x * gridDim.x) {
        const double* chosen = 0;
        float chosen_loss = 0.0f;
        unsigned chosen_feature = 0;
        for (unsigned k = 0; k < n_sampled; ++k) {
            const double* other = candidates + ((unsigned long long)node * n_sampled + k) * CANDIDATE_WORDS;
            float loss = (float)other[0];
            unsigned feature = (unsigned)other[1];
            bool better;
            if (!is_finite_value(loss)) {
                better = false;
            } else if (chosen_feature <= feature) {
                better = loss > chosen_loss;
            } else {
                better = loss >= chosen_loss;
            }
            if (better) {
                chosen = other;
                chosen_loss = loss;
                chosen_feature = feature;
            }
        }
        double* out = best + (unsigned long long)node * CANDIDATE_WORDS;
        for (unsigned w = 0; w < CANDIDATE_WORDS; ++w) {
            out[w] = chosen ? chosen[w] : 0.0;
        }
    }
}

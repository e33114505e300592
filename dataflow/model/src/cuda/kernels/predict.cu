// Prediction: trees as flat node arrays (forest.rs), one array per field. A split node sends a
// row left when its input is below the threshold (a missing input follows `default_left`); its
// right child is `left + 1`. A leaf has feature LEAF_NODE and its output in `value`.

// predictions[row] += output of the tree's leaf that row reaches, walking on bin numbers
// (`GrownTree::leaf_value`): what a finished tree adds to every training row. The tree's
// `right_start` holds, per split node, the first bin that goes right; node indices count from
// the tree's root (0).
extern "C" __global__ void add_tree_outputs(
    const unsigned short* bins, unsigned n_features, unsigned n_rows, const unsigned* node_feature,
    const unsigned* node_right_start, const unsigned* node_default_left, const unsigned* node_left,
    const float* node_value, float* predictions) {
    for (unsigned row = blockIdx.x * blockDim.x + threadIdx.x; row < n_rows;
         row += blockDim.x * gridDim.x) {
        const unsigned short* row_bins = bins + (unsigned long long)row * n_features;
        unsigned node = 0;
        while (node_feature[node] != LEAF_NODE) {
            unsigned bin = row_bins[node_feature[node]];
            bool left = bin == MISSING_BIN ? node_default_left[node] != 0 : bin < node_right_start[node];
            node = node_left[node] + (left ? 0u : 1u);
        }
        predictions[row] += node_value[node];
    }
}

// out[row] = base_score + the leaves `row` reaches, added in tree order in f32
// (`Forest::sum_leaves`): batch prediction over raw inputs (NaN or infinite = missing).
// Node indices are into the whole forest; `roots[t]` is tree t's root.
extern "C" __global__ void predict_forest(
    const float* values, unsigned n_rows, unsigned n_features, const unsigned* node_feature,
    const float* node_value, const unsigned* node_left, const unsigned* node_default_left,
    const unsigned* roots, unsigned n_trees, float base_score, float* out) {
    for (unsigned row = blockIdx.x * blockDim.x + threadIdx.x; row < n_rows;
         row += blockDim.x * gridDim.x) {
        const float* inputs = values + (unsigned long long)row * n_features;
        float sum = base_score;
        for (unsigned tree = 0; tree < n_trees; ++tree) {
            unsigned node = roots[tree];
            while (node_feature[node] != LEAF_NODE) {
                float value = inputs[node_feature[node]];
                bool left = is_finite_value(value) ? value < node_value[node] : node_default_left[node] != 0;
                node = node_left[node] + (left ? 0u : 1u);
            }
            sum += node_value[node];
        }
        out[row] = sum;
    }
}

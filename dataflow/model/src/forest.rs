//! The trained trees as flat node arrays: what prediction walks and what a saved model stores.

use serde::{Deserialize, Serialize};

/// `feature` of a leaf.
const LEAF: u32 = u32::MAX;

/// One node. A split sends a row left when its input is below `value` (or, when the input is
/// missing, when `default_left`); its right child is the node after its left child. A leaf's
/// `value` is its output.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlatNode {
    /// The input split on; `u32::MAX` for a leaf.
    pub feature: u32,
    /// Threshold of a split, output of a leaf.
    pub value: f32,
    /// Index of the left child in the forest's node array (0 for a leaf).
    pub left: u32,
    /// Where a row with a missing (non-finite) input goes.
    pub default_left: bool,
    /// A split's loss change (XGBoost's `loss_chg`, what its `gain` importance averages); 0 for a
    /// leaf, and in models stored before it was kept.
    #[serde(default)]
    pub gain: f32,
    /// The hessian sum of the training rows that reached the node (XGBoost's `sum_hess`, what its
    /// `cover` importance averages); 0 in models stored before it was kept.
    #[serde(default)]
    pub cover: f32,
}

impl FlatNode {
    /// A leaf with output `value`, reached by rows of hessian sum `cover`.
    pub fn leaf(value: f32, cover: f32) -> Self {
        FlatNode { feature: LEAF, value, left: 0, default_left: false, gain: 0.0, cover }
    }

    /// Whether this node is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.feature == LEAF
    }
}

/// All trees, their nodes in one array (each tree's nodes contiguous, parents before children).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    nodes: Vec<FlatNode>,
    /// Index of each tree's root; a tree's nodes run to the next root.
    roots: Vec<u32>,
}

impl Forest {
    /// Appends a tree given as nodes whose `left` indices count from the tree's first node.
    pub(crate) fn push_tree(&mut self, tree: impl IntoIterator<Item = FlatNode>) {
        let base = self.nodes.len() as u32;
        self.roots.push(base);
        self.nodes.extend(
            tree.into_iter()
                .map(|node| if node.is_leaf() { node } else { FlatNode { left: node.left + base, ..node } }),
        );
    }

    /// All nodes, tree after tree.
    pub(crate) fn nodes(&self) -> &[FlatNode] {
        &self.nodes
    }

    /// Index of each tree's root in [`Forest::nodes`].
    pub(crate) fn roots(&self) -> &[u32] {
        &self.roots
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Number of nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Sum of the leaves `row` reaches, one per tree, added in tree order to `start` in `f32`
    /// (the order and precision XGBoost predicts in).
    pub fn sum_leaves(&self, start: f32, row: &[f32]) -> f32 {
        let mut sum = start;
        for &root in &self.roots {
            sum += self.leaf_value(root as usize, row);
        }
        sum
    }

    /// Output of the leaf `row` reaches from node `index`.
    fn leaf_value(&self, mut index: usize, row: &[f32]) -> f32 {
        loop {
            let node = &self.nodes[index];
            if node.is_leaf() {
                return node.value;
            }
            let value = row[node.feature as usize];
            let left = if value.is_finite() { value < node.value } else { node.default_left };
            index = node.left as usize + usize::from(!left);
        }
    }

    /// Checks what prediction relies on, for a forest read from outside: every child lies
    /// inside its own tree and after its parent (so every walk ends), every input index is
    /// below `n_features`.
    pub fn check(&self, n_features: usize) -> Result<(), String> {
        if self.roots.first().is_some_and(|&r| r != 0) || self.roots.windows(2).any(|w| w[0] >= w[1]) {
            return Err("tree roots are not increasing from 0".into());
        }
        if self.roots.last().is_some_and(|&r| r as usize >= self.nodes.len()) {
            return Err("a tree root lies beyond the nodes".into());
        }
        for (tree, &root) in self.roots.iter().enumerate() {
            let end = self.roots.get(tree + 1).map_or(self.nodes.len(), |&r| r as usize);
            for index in root as usize..end {
                let node = &self.nodes[index];
                if node.is_leaf() {
                    continue;
                }
                let left = node.left as usize;
                if left <= index || left + 1 >= end {
                    return Err(format!("node {index} of tree {tree} has children outside its tree"));
                }
                if node.feature as usize >= n_features {
                    return Err(format!("node {index} splits on input {} of {n_features}", node.feature));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stump(threshold: f32, low: f32, high: f32) -> [FlatNode; 3] {
        let split =
            FlatNode { feature: 0, value: threshold, left: 1, default_left: true, gain: 1.0, cover: 2.0 };
        [split, FlatNode::leaf(low, 1.0), FlatNode::leaf(high, 1.0)]
    }

    #[test]
    fn rows_walk_to_their_leaves_and_missing_inputs_follow_the_default() {
        let mut forest = Forest::default();
        forest.push_tree(stump(1.0, -1.0, 1.0));
        forest.push_tree(stump(2.0, 10.0, 20.0));
        assert_eq!(forest.sum_leaves(0.5, &[0.0]), 0.5 - 1.0 + 10.0);
        assert_eq!(forest.sum_leaves(0.5, &[1.5]), 0.5 + 1.0 + 10.0);
        assert_eq!(forest.sum_leaves(0.5, &[f32::NAN]), 0.5 - 1.0 + 10.0);
        assert!(forest.check(1).is_ok());
        assert!(forest.check(0).is_err());
    }

    #[test]
    fn a_child_pointing_backwards_is_refused() {
        let mut forest = Forest::default();
        let mut tree = stump(1.0, 0.0, 0.0);
        tree[0].left = 0;
        forest.push_tree(tree);
        assert!(forest.check(1).is_err());
    }
}

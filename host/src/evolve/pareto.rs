//! Pareto dominance for multi-objective search, as NSGA-II defines it (Deb, Pratap, Agarwal and
//! Meyarivan, IEEE TEC 2002): constraint domination, fast non-dominated sorting, crowding
//! distance, and the hypervolume of a front.
//!
//! A [`Point`] holds its objective values as costs (every objective minimised: a maximised
//! metric enters negated) and its total constraint violation (0 when feasible; an invalid
//! network is infinitely infeasible, so every valid one dominates it). Constraint domination:
//! a feasible point beats an infeasible one, of two infeasible points the smaller violation
//! wins, and two feasible points compare by Pareto dominance.

use std::cmp::Ordering;

/// One candidate model in objective space.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Objective values to minimise.
    pub costs: Vec<f64>,
    /// Total constraint violation, ≥ 0 (0: feasible; `f64::INFINITY`: invalid).
    pub violation: f64,
}

impl Point {
    /// A feasible point.
    pub fn feasible(costs: Vec<f64>) -> Self {
        Point { costs, violation: 0.0 }
    }

    /// Whether every constraint holds.
    pub fn is_feasible(&self) -> bool {
        self.violation <= 0.0
    }
}

/// Whether `a` is no worse than `b` in every objective and better in at least one.
pub fn pareto_dominates(a: &[f64], b: &[f64]) -> bool {
    let mut better = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        better |= x < y;
    }
    better
}

/// Deb's constraint domination.
pub fn dominates(a: &Point, b: &Point) -> bool {
    match (a.is_feasible(), b.is_feasible()) {
        (true, false) => true,
        (false, true) => false,
        (false, false) => a.violation < b.violation,
        (true, true) => pareto_dominates(&a.costs, &b.costs),
    }
}

/// Fast non-dominated sorting: the indices of `points` in fronts, best first; within a front,
/// in index order.
pub fn non_dominated_fronts(points: &[Point]) -> Vec<Vec<usize>> {
    let n = points.len();
    let mut dominated_by_me: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut dominators = vec![0usize; n];
    for i in 0..n {
        for j in i + 1..n {
            if dominates(&points[i], &points[j]) {
                dominated_by_me[i].push(j);
                dominators[j] += 1;
            } else if dominates(&points[j], &points[i]) {
                dominated_by_me[j].push(i);
                dominators[i] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| dominators[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &j in &dominated_by_me[i] {
                dominators[j] -= 1;
                if dominators[j] == 0 {
                    next.push(j);
                }
            }
        }
        next.sort_unstable();
        fronts.push(std::mem::replace(&mut current, next));
    }
    fronts
}

/// The crowding distance of each member of `front` (indices into `points`), in `front`'s order:
/// per objective, the members sorted by value, the two extremes get infinity and the others the
/// gap between their neighbours divided by the objective's range; summed over objectives.
pub fn crowding_distances(points: &[Point], front: &[usize]) -> Vec<f64> {
    let mut distance = vec![0.0; front.len()];
    if front.len() <= 2 {
        return vec![f64::INFINITY; front.len()];
    }
    let objectives = points[front[0]].costs.len();
    let mut order: Vec<usize> = (0..front.len()).collect();
    for m in 0..objectives {
        let value = |k: usize| points[front[k]].costs[m];
        order.sort_by(|&a, &b| value(a).total_cmp(&value(b)).then(a.cmp(&b)));
        let (first, last) = (order[0], order[order.len() - 1]);
        let range = value(last) - value(first);
        distance[first] = f64::INFINITY;
        distance[last] = f64::INFINITY;
        if range <= 0.0 || !range.is_finite() {
            continue;
        }
        for w in order.windows(3) {
            distance[w[1]] += (value(w[2]) - value(w[0])) / range;
        }
    }
    distance
}

/// NSGA-II's crowded comparison: lower rank first, then larger crowding distance.
pub fn crowded_order(rank_a: usize, distance_a: f64, rank_b: usize, distance_b: f64) -> Ordering {
    rank_a.cmp(&rank_b).then_with(|| distance_b.total_cmp(&distance_a))
}

/// The hypervolume (Lebesgue measure) dominated by `costs` and bounded by `reference`, every
/// objective minimised; points not strictly better than the reference in every objective add
/// nothing. Exact, by slicing along the last objective (fine for the fronts of a search: tens
/// to hundreds of points in two or three objectives).
pub fn hypervolume(costs: &[Vec<f64>], reference: &[f64]) -> f64 {
    let inside: Vec<&[f64]> = costs
        .iter()
        .map(Vec::as_slice)
        .filter(|c| c.len() == reference.len() && c.iter().zip(reference).all(|(x, r)| x < r))
        .collect();
    slice_volume(&inside, reference)
}

fn slice_volume(points: &[&[f64]], reference: &[f64]) -> f64 {
    let d = reference.len();
    if points.is_empty() || d == 0 {
        return 0.0;
    }
    if d == 1 {
        let best = points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
        return reference[0] - best;
    }
    let last = d - 1;
    let mut sorted: Vec<&[f64]> = points.to_vec();
    sorted.sort_by(|a, b| a[last].total_cmp(&b[last]));
    let mut volume = 0.0;
    for (i, p) in sorted.iter().enumerate() {
        let upper = sorted.get(i + 1).map_or(reference[last], |q| q[last]);
        let height = upper - p[last];
        if height <= 0.0 {
            continue;
        }
        let below: Vec<&[f64]> = sorted[..=i].iter().map(|q| &q[..last]).collect();
        volume += height * slice_volume(&below, &reference[..last]);
    }
    volume
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn points(costs: &[[f64; 2]]) -> Vec<Point> {
        costs.iter().map(|c| Point::feasible(c.to_vec())).collect()
    }

    #[test]
    fn fronts_and_crowding_of_a_hand_worked_example() {
        let p = points(&[[1.0, 5.0], [2.0, 3.0], [3.0, 4.0], [4.0, 1.0], [5.0, 5.0]]);
        assert_eq!(non_dominated_fronts(&p), vec![vec![0, 1, 3], vec![2], vec![4]]);
        // front 0 sorted on each objective: 0, 1, 3 (f1) and 3, 1, 0 (f2); the middle member's
        // neighbours span (4−1)/(4−1) + (5−1)/(5−1) = 2
        let d = crowding_distances(&p, &[0, 1, 3]);
        assert_eq!(d, vec![f64::INFINITY, 2.0, f64::INFINITY]);
        // the boxes [1,6]×[5,6] ∪ [2,6]×[3,6] ∪ [4,6]×[1,6]: 1 + 6 + 10
        let front: Vec<Vec<f64>> = [0, 1, 3].iter().map(|&i| p[i].costs.clone()).collect();
        assert_eq!(hypervolume(&front, &[6.0, 6.0]), 17.0);
        assert_eq!(hypervolume(&[vec![7.0, 1.0]], &[6.0, 6.0]), 0.0, "outside the reference box");
    }

    #[test]
    fn constraints_come_before_objectives() {
        let good = Point::feasible(vec![10.0, 10.0]);
        let slightly_off = Point { costs: vec![0.0, 0.0], violation: 0.1 };
        let far_off = Point { costs: vec![0.0, 0.0], violation: 2.0 };
        let invalid = Point { costs: vec![0.0, 0.0], violation: f64::INFINITY };
        assert!(dominates(&good, &slightly_off) && !dominates(&slightly_off, &good));
        assert!(dominates(&slightly_off, &far_off) && dominates(&far_off, &invalid));
        let all = [invalid, far_off, good, slightly_off];
        assert_eq!(non_dominated_fronts(&all), vec![vec![2], vec![3], vec![1], vec![0]]);
    }

    #[test]
    fn three_objective_hypervolume_by_hand() {
        // two unit-ish boxes overlapping in [1,2]×[1,2]×[1,2] under reference (2,2,2):
        // (0,1,1) covers 2×1×1 = 2, (1,0,1) covers 1×2×1 = 2, overlap 1×1×1 = 1 → 3
        let hv = hypervolume(&[vec![0.0, 1.0, 1.0], vec![1.0, 0.0, 1.0]], &[2.0, 2.0, 2.0]);
        assert!((hv - 3.0).abs() < 1e-12, "{hv}");
    }

    fn brute_fronts(p: &[Point]) -> Vec<usize> {
        // rank = length of the longest chain of dominators above a point
        let mut rank = vec![0usize; p.len()];
        for _ in 0..p.len() {
            for i in 0..p.len() {
                for j in 0..p.len() {
                    if dominates(&p[j], &p[i]) {
                        rank[i] = rank[i].max(rank[j] + 1);
                    }
                }
            }
        }
        rank
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn sorting_agrees_with_brute_force(raw in prop::collection::vec((0u8..6, 0u8..6, 0u8..3), 1..24)) {
            let p: Vec<Point> = raw
                .iter()
                .map(|&(a, b, v)| Point { costs: vec![f64::from(a), f64::from(b)], violation: f64::from(v.saturating_sub(1)) })
                .collect();
            let fronts = non_dominated_fronts(&p);
            let rank = brute_fronts(&p);
            prop_assert_eq!(fronts.iter().map(Vec::len).sum::<usize>(), p.len());
            for (r, front) in fronts.iter().enumerate() {
                for &i in front {
                    prop_assert_eq!(rank[i], r);
                    // no point of a front is dominated by a point of the same or a later front
                    for later in &fronts[r..] {
                        for &j in later {
                            prop_assert!(!dominates(&p[j], &p[i]));
                        }
                    }
                }
            }
        }

        #[test]
        fn hypervolume_counts_the_dominated_cells(raw in prop::collection::vec((0u8..8, 0u8..8), 1..12)) {
            let costs: Vec<Vec<f64>> = raw.iter().map(|&(a, b)| vec![f64::from(a), f64::from(b)]).collect();
            let cells = (0..8)
                .flat_map(|x| (0..8).map(move |y| (x, y)))
                .filter(|&(x, y)| raw.iter().any(|&(a, b)| a <= x && b <= y))
                .count();
            prop_assert_eq!(hypervolume(&costs, &[8.0, 8.0]), cells as f64);
        }
    }
}

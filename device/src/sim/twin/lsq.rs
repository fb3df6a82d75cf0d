//! Weighted linear least squares by Householder QR: small, dense, well-behaved.

/// Why a fit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LsqError {
    /// Fewer observations than unknowns, or rows of different lengths.
    #[error("least squares needs at least as many observations ({rows}) as unknowns ({cols})")]
    Shape {
        /// Observations.
        rows: usize,
        /// Unknowns.
        cols: usize,
    },
    /// The observations do not tell two unknowns apart (a column is a combination of others).
    #[error("the observations do not determine unknown {0}: add reference models that exercise it")]
    RankDeficient(usize),
}

/// Solves `min ‖A x − b‖₂` for `A` given by `rows` (each of the same length) and `b`.
/// Columns are scaled to unit norm first, so unknowns of very different magnitudes fit alike.
pub fn solve(rows: &[Vec<f64>], b: &[f64]) -> Result<Vec<f64>, LsqError> {
    let (m, n) = (rows.len(), rows.first().map_or(0, Vec::len));
    if m < n || n == 0 || b.len() != m || rows.iter().any(|r| r.len() != n) {
        return Err(LsqError::Shape { rows: m, cols: n });
    }
    let scale: Vec<f64> = (0..n)
        .map(|j| {
            let norm = rows.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt();
            if norm > 0.0 { norm } else { 1.0 }
        })
        .collect();
    // Column-major copy of the scaled matrix, and the right-hand side.
    let mut a: Vec<Vec<f64>> = (0..n).map(|j| rows.iter().map(|r| r[j] / scale[j]).collect()).collect();
    let mut y = b.to_vec();
    for k in 0..n {
        let norm = a[k][k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < 1e-12 {
            return Err(LsqError::RankDeficient(k));
        }
        let alpha = if a[k][k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = a[k][k..].to_vec();
        v[0] -= alpha;
        let vv = v.iter().map(|x| x * x).sum::<f64>();
        if vv > 0.0 {
            let reflect = |col: &mut [f64]| {
                let dot: f64 = v.iter().zip(col.iter()).map(|(p, q)| p * q).sum();
                let f = 2.0 * dot / vv;
                col.iter_mut().zip(&v).for_each(|(c, vi)| *c -= f * vi);
            };
            for col in a.iter_mut().skip(k) {
                reflect(&mut col[k..]);
            }
            reflect(&mut y[k..]);
        }
        if a[k][k].abs() < 1e-10 * norm.max(1.0) {
            return Err(LsqError::RankDeficient(k));
        }
    }
    // Back substitution on the upper triangle.
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let sum: f64 = ((i + 1)..n).map(|j| a[j][i] * x[j]).sum();
        x[i] = (y[i] - sum) / a[i][i];
    }
    Ok(x.iter().zip(&scale).map(|(xi, s)| xi / s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_solution_of_mixed_scales() {
        // y = 2e-6 · a + 3e3 · b − 1 · c, with features of very different sizes.
        let truth = [2e-6, 3e3, -1.0];
        let rows: Vec<Vec<f64>> =
            (0..8).map(|i| vec![1e6 * (1.0 + i as f64), 1e-3 * ((i * i) as f64 + 1.0), (i % 3) as f64]).collect();
        let b: Vec<f64> = rows.iter().map(|r| r.iter().zip(&truth).map(|(x, t)| x * t).sum()).collect();
        let x = solve(&rows, &b).expect("solvable");
        for (got, want) in x.iter().zip(&truth) {
            assert!((got - want).abs() <= 1e-9 * want.abs(), "{got} vs {want}");
        }
    }

    #[test]
    fn fits_a_line_through_noisy_points_and_refuses_degenerate_input() {
        let rows: Vec<Vec<f64>> = (0..4).map(|i| vec![1.0, i as f64]).collect();
        let x = solve(&rows, &[1.0, 3.1, 4.9, 7.0]).expect("line");
        assert!((x[1] - 1.98).abs() < 1e-9 && (x[0] - 1.03).abs() < 1e-9, "{x:?}");
        let twice: Vec<Vec<f64>> = (0..4).map(|i| vec![i as f64, 2.0 * i as f64]).collect();
        assert!(matches!(solve(&twice, &[0.0, 1.0, 2.0, 3.0]), Err(LsqError::RankDeficient(1))));
        assert!(matches!(solve(&rows[..1], &[1.0]), Err(LsqError::Shape { .. })));
    }
}

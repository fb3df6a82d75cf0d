//! Bilinear resizing of one image plane (the paper feeds 32×32 inputs; Fashion-MNIST is 28×28).
//!
//! Half-pixel centres, edges clamped: the semantics of PyTorch's
//! `interpolate(mode="bilinear", align_corners=False)` without antialiasing.

/// Resizes the `from = (height, width)` plane `src` to `to = (height, width)` and appends the
/// result to `out` (row-major). `src.len()` must be `from.0 × from.1`.
pub fn bilinear_into(src: &[f32], from: (usize, usize), to: (usize, usize), out: &mut Vec<f32>) {
    let (src_h, src_w) = from;
    let (dst_h, dst_w) = to;
    debug_assert_eq!(src.len(), src_h * src_w);
    let cols: Vec<(usize, usize, f32)> = (0..dst_w).map(|x| source_coord(x, src_w, dst_w)).collect();
    for y in 0..dst_h {
        let (y0, y1, fy) = source_coord(y, src_h, dst_h);
        let row0 = &src[y0 * src_w..(y0 + 1) * src_w];
        let row1 = &src[y1 * src_w..(y1 + 1) * src_w];
        for &(x0, x1, fx) in &cols {
            let top = row0[x0] + (row0[x1] - row0[x0]) * fx;
            let bottom = row1[x0] + (row1[x1] - row1[x0]) * fx;
            out.push(top + (bottom - top) * fy);
        }
    }
}

/// For output index `i`, the two neighbouring source indices and the weight of the second.
fn source_coord(i: usize, src_len: usize, dst_len: usize) -> (usize, usize, f32) {
    let scale = src_len as f32 / dst_len as f32;
    let pos = ((i as f32 + 0.5) * scale - 0.5).max(0.0);
    let lower = (pos.floor() as usize).min(src_len - 1);
    let upper = (lower + 1).min(src_len - 1);
    (lower, upper, pos - lower as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_identity() {
        let src: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut out = Vec::new();
        bilinear_into(&src, (3, 4), (3, 4), &mut out);
        assert_eq!(out, src);
    }

    #[test]
    fn upscale_two_by_two_matches_pytorch() {
        // torch.nn.functional.interpolate(torch.tensor([[[[0.,1.],[2.,3.]]]]), size=(4,4),
        // mode="bilinear", align_corners=False) gives these rows.
        let mut out = Vec::new();
        bilinear_into(&[0.0, 1.0, 2.0, 3.0], (2, 2), (4, 4), &mut out);
        let expected = [
            0.0, 0.25, 0.75, 1.0, //
            0.5, 0.75, 1.25, 1.5, //
            1.5, 1.75, 2.25, 2.5, //
            2.0, 2.25, 2.75, 3.0,
        ];
        for (got, want) in out.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{out:?}");
        }
    }

    #[test]
    fn constant_image_stays_constant_at_32() {
        let src = vec![0.5; 28 * 28];
        let mut out = Vec::new();
        bilinear_into(&src, (28, 28), (32, 32), &mut out);
        assert_eq!(out.len(), 32 * 32);
        assert!(out.iter().all(|&v| (v - 0.5).abs() < 1e-6));
    }
}

//! Vector loops in safe Rust. The kernels are plain loops over slices; run
//! inside [`vectorized`], they are compiled once per instruction set (AVX-512,
//! AVX2, baseline) and the widest one the CPU has is picked at run time, so
//! one binary is fast on any x86-64 and still runs everywhere.
//!
//! Every loop here does the same IEEE operations in the same order whatever
//! the vector width: sums keep [`LANES`] partial sums, not one per register,
//! so results are bit-identical on every machine.

/// Partial sums of a dot product or of a running sum: a fixed count (the
/// widest vector of float32, AVX-512's), so the summation order does not
/// depend on the instruction set.
pub const LANES: usize = 16;

/// Runs `work` compiled for the best instruction set of this CPU. `work` and
/// everything it calls must be `#[inline(always)]` (closures too:
/// `vectorized(#[inline(always)] || ...)`) to be compiled that way: a
/// function left out of line is compiled for the baseline instruction set.
#[inline(always)]
pub fn vectorized<R>(work: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(work)
}

/// The vector at the start of `values`: a plain load when `values` holds a
/// whole vector, else a masked one with zeros after the end. (pulp's own
/// `partial_load` is an out-of-line call even for a whole vector.)
#[inline(always)]
pub fn load<S: pulp::Simd>(simd: S, values: &[f32]) -> S::f32s {
    match values.get(..S::F32_LANES) {
        Some(whole) => S::as_simd_f32s(whole).0[0],
        None => simd.partial_load_f32s(values),
    }
}

/// Writes `vector` at the start of `values`, as much of it as fits.
#[inline(always)]
pub fn store<S: pulp::Simd>(simd: S, values: &mut [f32], vector: S::f32s) {
    match values.get_mut(..S::F32_LANES) {
        Some(whole) => S::as_mut_simd_f32s(whole).0[0] = vector,
        None => simd.partial_store_f32s(values, vector),
    }
}

/// [`store`] for `u32`s.
#[inline(always)]
pub fn store_u32<S: pulp::Simd>(simd: S, values: &mut [u32], vector: S::u32s) {
    match values.get_mut(..S::U32_LANES) {
        Some(whole) => S::as_mut_simd_u32s(whole).0[0] = vector,
        None => simd.partial_store_u32s(values, vector),
    }
}

/// `acc[i] += weight * x[i]`: a multiply then an add, as Burn's own
/// convolution loops do (no fused multiply-add, which would round differently).
#[inline(always)]
pub fn axpy(acc: &mut [f32], weight: f32, x: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += weight * v;
    }
}

/// `acc[i] += x[i]`.
#[inline(always)]
pub fn add(acc: &mut [f32], x: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += v;
    }
}

/// `Σ a[i] * b[i]` over the common length, in [`LANES`] partial sums.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut partial = [0.0f32; LANES];
    let mut a_chunks = a.chunks_exact(LANES);
    let mut b_chunks = b.chunks_exact(LANES);
    for (ca, cb) in (&mut a_chunks).zip(&mut b_chunks) {
        for ((p, &x), &y) in partial.iter_mut().zip(ca).zip(cb) {
            *p += x * y;
        }
    }
    for ((p, &x), &y) in partial
        .iter_mut()
        .zip(a_chunks.remainder())
        .zip(b_chunks.remainder())
    {
        *p += x * y;
    }
    partial.iter().sum()
}

/// `Σ x[i]`, in [`LANES`] partial sums.
#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    let mut partial = [0.0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for chunk in &mut chunks {
        add(&mut partial, chunk);
    }
    add(&mut partial, chunks.remainder());
    partial.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loops_compute_what_they_say() {
        let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let y: Vec<f32> = (0..37).map(|i| 1.0 - i as f32).collect();
        let expected: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        assert!((vectorized(|| dot(&x, &y)) - expected).abs() < 1e-3);
        assert_eq!(vectorized(|| sum(&x)), x.iter().sum::<f32>());
        let mut acc = y.clone();
        vectorized(|| axpy(&mut acc, 2.0, &x));
        assert!(
            acc.iter()
                .zip(&x)
                .zip(&y)
                .all(|((a, x), y)| *a == y + 2.0 * x)
        );
    }
}

#!/usr/bin/env bash
# Mutation check of the kernel tests: breaks one kernel at a time (a bias
# scaled, a tap dropped, a pooling tie or NaN routed the other way, a
# gradient off by a few ulps) and expects `crates/kernels/tests/against_stock.rs`
# to fail each time; restores every file after its run. Exits non-zero if a
# perturbation goes unnoticed (or no longer applies).
#
#   scripts/perturb-kernels.sh
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
backup=$(mktemp)
trap 'rm -f "$backup"' EXIT

perturb() {
    local file=$1 expression=$2 what=$3 output
    cp "$file" "$backup"
    sed -i "$expression" "$file"
    if cmp -s "$file" "$backup"; then
        echo "does not apply any more: $what"
        status=1
        return
    fi
    output=$(cargo test -p kernels --test against_stock 2>&1 || true)
    cp "$backup" "$file"
    if grep -q "test result: FAILED" <<<"$output"; then
        echo "caught: $what ($(grep -cE '^test .* FAILED$' <<<"$output") tests fail)"
    elif grep -q "test result: ok" <<<"$output"; then
        echo "NOT CAUGHT: $what"
        status=1
    else
        echo "does not compile: $what"
        status=1
    fi
}

perturb crates/kernels/src/conv.rs 's/\*b = s + bias;/*b = s + bias * 1.0001;/' \
    "forward: the bias scaled by 1.0001"
perturb crates/kernels/src/conv.rs 's/in weights.iter().zip(starts) {/in weights.iter().zip(starts).skip(1) {/' \
    "forward: the first tap of each filter dropped"
perturb crates/kernels/src/phases.rs 's/simd.greater_than_f32s(value, best)/simd.greater_than_or_equal_f32s(value, best)/' \
    "max-pool: a tie goes to the later element"
perturb crates/kernels/src/phases.rs 's/let take = simd.or_m32s(simd.greater_than_f32s(value, best), nan);/let take = simd.and_m32s(simd.greater_than_f32s(value, best), simd.not_m32s(nan));/' \
    "max-pool: a NaN never wins its window"
perturb crates/kernels/src/conv.rs 's/\*b += g \* x;/*b += g * x * 1.0001;/' \
    "weight gradient: scaled by 1.0001"
perturb crates/kernels/src/pool.rs 's/target\[position as usize\] = value;/target[position as usize] = value + f32::EPSILON;/' \
    "max-pool gradient: off by an ulp of 1"
perturb crates/kernels/src/simd.rs 's/\*a += weight \* v;/*a += weight * v * 0.99999;/' \
    "input gradient: scaled by 0.99999"
perturb crates/kernels/src/im2col.rs 's/\*o = v + bias;/*o = v + bias * 1.0001;/' \
    "gemm forward: the bias scaled by 1.0001"
perturb crates/kernels/src/im2col.rs 's/zeros(\&mut columns, tap.cols.start);/columns.resize(columns.len() + tap.cols.start, 0.5);/' \
    "gemm forward: a padding zero made 0.5"
perturb crates/kernels/src/im2col.rs 's/                        \*t += v;/                        *t += v * 0.99999;/' \
    "gemm input gradient: scaled by 0.99999"
perturb crates/kernels/src/im2col.rs 's/        .map(crate::simd::sum)$/        .map(|row| crate::simd::sum(row) * 1.0001)/' \
    "gemm bias gradient: scaled by 1.0001"
perturb crates/kernels/src/host.rs 's/dw_share.copy_from_slice(B::values(dw).as_ref());/dw_share.copy_from_slice(B::values(dw).as_ref()); dw_share[0] *= 1.0001;/' \
    "gemm weight gradient: one share scaled by 1.0001"
perturb crates/kernels/src/im2col.rs 's/let wins = value > \*best || value.is_nan();/let wins = value >= *best || value.is_nan();/' \
    "gemm + max-pool: a tie goes to the later element"
perturb crates/kernels/src/im2col.rs 's/let wins = value > \*best || value.is_nan();/let wins = value > *best \&\& !value.is_nan();/' \
    "gemm + max-pool: a NaN never wins its window"
perturb crates/kernels/src/im2col.rs 's/\*best = y + bias;/*best = y + bias * 1.0001;/' \
    "gemm + max-pool: the bias of a window's first value scaled by 1.0001"
perturb crates/kernels/src/im2col.rs 's/sums\[f\] += crate::simd::sum(grad);/sums[f] += crate::simd::sum(grad) * 1.0001;/' \
    "gemm + max-pool: the bias gradient scaled by 1.0001"
perturb crates/kernels/src/im2col.rs 's/crate::pool::scatter(grad, \&positions\[at..\]\[..pooled_len\], target);/crate::pool::scatter(grad, \&positions[at..][..pooled_len], \&mut target[1..]);/' \
    "gemm + max-pool: each gradient routed one position to the right"
perturb crates/kernels/src/pool.rs 's/\*out = window.iter().sum::<f32>() \/ count;/*out = window.iter().sum::<f32>() \/ count * 1.0001;/' \
    "average pool: scaled by 1.0001"
perturb crates/kernels/src/pool.rs 's/\.take(window_rows - 1)/.take(window_rows - 1).skip(1)/' \
    "average pool: the third row of a window dropped"
perturb crates/kernels/src/pool.rs 's/for s in \&mut spread\[col \* col_stride..\]\[..window_cols\] {/for s in \&mut spread[col * col_stride..][..window_cols].iter_mut().skip(1) {/' \
    "average pool gradient: the first column of each window left out"
perturb crates/kernels/src/pool.rs 's/        .take(window_rows)$/        .take(window_rows).skip(usize::from(window_rows > 2))/' \
    "average pool gradient: the first row of windows over 2 rows left out"
perturb crates/kernels/src/norm.rs 's/\*o = (v - m) \/ s \* g + b;/*o = (v - m) \/ s * g * 1.0001 + b;/' \
    "batch norm: the output scaled by 1.0001"
perturb crates/kernels/src/norm.rs 's/variance\[channel\] = channel_sum(shape, x, channel, |v| (v - m) \* (v - m)) \/ count;/variance[channel] = channel_sum(shape, x, channel, |v| (v - m) * (v - m)) \/ (count - 1.0).max(1.0);/' \
    "batch norm: the unbiased variance"
perturb crates/kernels/src/norm.rs 's/\.map(|(g, x)| sum_of(g, x, |g, v| g \* ((v - m) \* inv)))/.map(|(g, x)| sum_of(g, x, |g, v| g * ((v - m) * inv) * 1.0001))/' \
    "batch norm: the gamma gradient scaled by 1.0001"
perturb crates/kernels/src/norm.rs 's/\*d = scale \* (g - mean_grad - normalized \* mean_projection);/*d = scale * (g - normalized * mean_projection);/' \
    "batch norm: the input gradient without the mean's share"
exit $status

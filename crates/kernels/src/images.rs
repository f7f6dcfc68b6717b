//! Work split over the images of a batch: images are independent, so the
//! batch is cut into chunks of whole images that rayon runs on its threads.
//! Small batches stay on the calling thread, where waking other threads would
//! cost more than it saves. The chunks do not depend on the number of
//! threads, so neither do the results.

use rayon::prelude::*;

/// Multiply-adds below which a batch is computed on the calling thread.
/// Waking a sleeping rayon worker and waiting for it costs tens of
/// microseconds on a small virtual machine, as much as a training batch's
/// convolution (32 images of the notebook: 1.8M): the notebook trained 1.1 s
/// per epoch with its batches on one thread, 1.2-1.4 s split over two.
/// Validation and prediction batches (500 images: 28M) still split.
const MIN_PARALLEL_WORK: usize = 1 << 23;

/// Calls `work(chunk index, first chunk, second chunk)` for chunks of
/// `first_len` values of `first` and `second_len` values of `second` (the
/// last chunks may be shorter; both slices make as many chunks), in
/// parallel when `cost` (multiply-adds of one chunk) times the chunks is big
/// enough.
pub fn for_each_chunk<A, B, F>(
    first: &mut [A],
    first_len: usize,
    second: &mut [B],
    second_len: usize,
    cost: usize,
    work: F,
) where
    A: Send,
    B: Send,
    F: Fn(usize, &mut [A], &mut [B]) + Sync,
{
    if first_len == 0 || second_len == 0 {
        return;
    }
    let chunks = first.len().div_ceil(first_len);
    debug_assert_eq!(chunks, second.len().div_ceil(second_len));
    if chunks < 2 || chunks * cost < MIN_PARALLEL_WORK || rayon::current_num_threads() < 2 {
        first
            .chunks_mut(first_len)
            .zip(second.chunks_mut(second_len))
            .enumerate()
            .for_each(|(index, (a, b))| work(index, a, b));
    } else {
        first
            .par_chunks_mut(first_len)
            .zip(second.par_chunks_mut(second_len))
            .enumerate()
            .for_each(|(index, (a, b))| work(index, a, b));
    }
}

/// Calls `work(image, output chunk)` for every image, where `output` holds
/// `per_image` values per image (the last chunk may be shorter); `cost` is
/// the multiply-adds of one image.
pub fn for_each_image<A, F>(output: &mut [A], per_image: usize, cost: usize, work: F)
where
    A: Send,
    F: Fn(usize, &mut [A]) + Sync,
{
    let images = if per_image == 0 {
        0
    } else {
        output.len().div_ceil(per_image)
    };
    let mut none = vec![(); images];
    for_each_chunk(output, per_image, &mut none, 1, cost, |image, chunk, _| {
        work(image, chunk)
    });
}

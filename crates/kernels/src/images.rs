//! Work split over the images of a batch: images are independent, so the
//! batch is cut into chunks of whole images that rayon runs on its threads.
//! Small batches stay on the calling thread, where waking other threads would
//! cost more than it saves, unless a [`PoolAwake`] keeps a worker awake to
//! take half of them at once. The chunks do not depend on the number of
//! threads, so neither do the results.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

/// Multiply-adds below which a batch is computed on the calling thread.
/// Waking a sleeping rayon worker and waiting for it costs tens of
/// microseconds on a small virtual machine, as much as a training batch's
/// convolution (32 images of the notebook: 1.8M): the notebook trained 1.1 s
/// per epoch with its batches on one thread, 1.2-1.4 s split over two.
/// Validation and prediction batches (500 images: 28M) still split.
const MIN_PARALLEL_WORK: usize = 1 << 23;

/// Multiply-adds below which a batch stays on the calling thread even with
/// a worker awake: handing half of it over costs a few microseconds.
const MIN_AWAKE_WORK: usize = 1 << 16;

thread_local! {
    /// The helper of the [`PoolAwake`] alive on this thread, if any.
    static HELPER: RefCell<Option<Arc<Helper>>> = const { RefCell::new(None) };
}

/// A thread of its own (a one-thread rayon pool, so that nothing else
/// queues work on it or wakes other threads for it) that runs the halves
/// this thread hands it, and spins while it has none.
struct Helper {
    pool: rayon::ThreadPool,
    stop: AtomicBool,
}

/// While alive, a helper thread stays awake for the thread that made the
/// guard, and every batch of that thread worth [`MIN_AWAKE_WORK`] is split
/// in two halves: the thread computes one while the helper takes the other.
///
/// Training steps are short and many (a 32-image step of the notebook is
/// about half a millisecond): waking a sleeping rayon worker for each one,
/// on a virtual machine tens of microseconds, costs about what its half
/// saves, which left the second core idle. The helper keeps that core busy
/// for the guard's lifetime, as OpenMP's active wait does for PyTorch,
/// though it yields the core to any other thread that wants it; drop the
/// guard as soon as the steps are done. With one thread
/// (`RAYON_NUM_THREADS=1`) it does nothing.
#[must_use = "the helper stops when the guard is dropped"]
pub struct PoolAwake {
    helper: Option<Arc<Helper>>,
}

impl PoolAwake {
    /// Starts the helper for this thread's batches; without a second thread
    /// (one core, or a thread pool that could not start) the batches stay
    /// as they were.
    pub fn new() -> Self {
        if rayon::current_num_threads() < 2 {
            return Self { helper: None };
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "kernels-helper".into())
            .build();
        let Ok(pool) = pool else {
            return Self { helper: None };
        };
        let helper = Arc::new(Helper {
            pool,
            stop: AtomicBool::new(false),
        });
        let spinning = helper.clone();
        helper.pool.spawn(move || {
            while !spinning.stop.load(Ordering::Acquire) {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::thread::yield_now();
                }
            }
        });
        HELPER.with(|slot| *slot.borrow_mut() = Some(helper.clone()));
        Self {
            helper: Some(helper),
        }
    }
}

impl Default for PoolAwake {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PoolAwake {
    fn drop(&mut self) {
        if let Some(helper) = self.helper.take() {
            helper.stop.store(true, Ordering::Release);
            HELPER.with(|slot| slot.borrow_mut().take());
        }
    }
}

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
    let work_all = chunks * cost;
    let helper = HELPER.with(|slot| slot.borrow().clone());
    if chunks < 2 || rayon::current_num_threads() < 2 {
        in_order(first, first_len, second, second_len, 0, &work);
    } else if let Some(helper) = helper.filter(|_| work_all >= MIN_AWAKE_WORK) {
        split_in_two(&helper, first, first_len, second, second_len, &work);
    } else if work_all < MIN_PARALLEL_WORK {
        in_order(first, first_len, second, second_len, 0, &work);
    } else {
        first
            .par_chunks_mut(first_len)
            .zip(second.par_chunks_mut(second_len))
            .enumerate()
            .for_each(|(index, (a, b))| work(index, a, b));
    }
}

/// [`for_each_chunk`] on this thread, the chunks numbered from `first_index`.
fn in_order<A, B, F>(
    first: &mut [A],
    first_len: usize,
    second: &mut [B],
    second_len: usize,
    first_index: usize,
    work: &F,
) where
    F: Fn(usize, &mut [A], &mut [B]),
{
    first
        .chunks_mut(first_len)
        .zip(second.chunks_mut(second_len))
        .enumerate()
        .for_each(|(index, (a, b))| work(first_index + index, a, b));
}

/// [`for_each_chunk`] in two halves of whole chunks: the second handed to
/// `helper`, which takes it at once, the first computed here, then a spin
/// until the other is done, which is sooner than a sleep and a wake-up.
fn split_in_two<A, B, F>(
    helper: &Helper,
    first: &mut [A],
    first_len: usize,
    second: &mut [B],
    second_len: usize,
    work: &F,
) where
    A: Send,
    B: Send,
    F: Fn(usize, &mut [A], &mut [B]) + Sync,
{
    let half = first.len().div_ceil(first_len) / 2;
    let (first_here, first_there) = first.split_at_mut(half * first_len);
    let (second_here, second_there) = second.split_at_mut(half * second_len);
    let done = AtomicBool::new(false);
    helper.pool.in_place_scope(|scope| {
        scope.spawn(|_| {
            in_order(first_there, first_len, second_there, second_len, half, work);
            done.store(true, Ordering::Release);
        });
        in_order(first_here, first_len, second_here, second_len, 0, work);
        while !done.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
    });
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

#[cfg(test)]
mod tests {
    use std::thread::{self, ThreadId};

    use super::*;
    use crate::fused::{conv2d_max_pool2d, conv2d_max_pool2d_backward};
    use crate::shape::notebook;

    /// Which thread computed each of 8 chunks of `cost` multiply-adds.
    fn threads_of_chunks(cost: usize) -> Vec<ThreadId> {
        let mut ids = vec![thread::current().id(); 8];
        let mut none = vec![(); 8];
        for_each_chunk(&mut ids, 1, &mut none, 1, cost, |_, id, _| {
            id[0] = thread::current().id()
        });
        ids
    }

    // On one core there is no second thread to hand anything to: the tests
    // below then check nothing (CI has two).

    #[test]
    fn a_helper_takes_the_second_half_of_a_small_batch() {
        if rayon::current_num_threads() < 2 {
            return;
        }
        let here = thread::current().id();
        let small = MIN_AWAKE_WORK / 8;
        assert!(threads_of_chunks(small).iter().all(|&id| id == here));
        let awake = PoolAwake::new();
        let ids = threads_of_chunks(small);
        assert!(ids[..4].iter().all(|&id| id == here), "{ids:?}");
        assert!(
            ids[4..].iter().all(|&id| id == ids[4] && id != here),
            "{ids:?}"
        );
        // Too little work to hand over, and other threads' batches: here.
        assert!(threads_of_chunks(small / 2).iter().all(|&id| id == here));
        let other = thread::spawn(move || {
            let there = thread::current().id();
            threads_of_chunks(small).iter().all(|&id| id == there)
        });
        assert!(other.join().unwrap());
        drop(awake);
        assert!(threads_of_chunks(small).iter().all(|&id| id == here));
    }

    #[test]
    fn the_results_do_not_depend_on_the_helper() {
        let shape = notebook();
        let x: Vec<f32> = (0..32 * 784)
            .map(|i| ((i * 37 % 251) as f32).sin())
            .collect();
        let w: Vec<f32> = (0..72).map(|i| (i as f32 - 36.0) / 97.0).collect();
        let b: Vec<f32> = (0..8).map(|i| i as f32 / 10.0).collect();
        let grad: Vec<f32> = (0..32 * 8 * 169).map(|i| ((i % 13) as f32).cos()).collect();
        let run = || {
            let mut out = vec![0.0; 32 * 8 * 169];
            let mut positions = vec![0; out.len()];
            conv2d_max_pool2d(&shape, [2, 2], &x, &w, &b, &mut out, Some(&mut positions));
            let (mut dw, mut db) = (vec![0.0; 72], vec![0.0; 8]);
            conv2d_max_pool2d_backward(
                &shape,
                [2, 2],
                &x,
                &w,
                &grad,
                &positions,
                None,
                &mut dw,
                &mut db,
            );
            let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            (bits(&out), positions, bits(&dw), bits(&db))
        };
        let alone = run();
        let awake = PoolAwake::new();
        assert!(run() == alone);
        drop(awake);
    }
}

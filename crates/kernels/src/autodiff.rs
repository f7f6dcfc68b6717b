//! The backward passes: [`KernelOps`] on Burn's `Autodiff` decorator, for
//! any backend with [`KernelGrads`]. Each forward pass records what its
//! backward pass needs (the operands, and where the maxima were); the
//! gradient of an operand that is not tracked (the network's input) is not
//! computed at all.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{AutodiffBackend, Shape, TensorMetadata};

use crate::adam::AdamStep;
use crate::ops::{ConvGrads, KernelGrads, KernelOps, Positions};

/// Registers a convolution's gradients for the operands that are tracked.
fn register<B: KernelGrads>(
    grads: &mut Gradients,
    [x, weight, bias]: [Option<NodeId>; 3],
    computed: ConvGrads<B>,
) {
    if let (Some(node), Some(grad)) = (x, computed.x) {
        grads.register::<B>(node, grad);
    }
    if let Some(node) = weight {
        grads.register::<B>(node, computed.weight);
    }
    if let Some(node) = bias {
        grads.register::<B>(node, computed.bias);
    }
}

#[derive(Debug)]
struct Conv2dBackward;

impl<B: KernelGrads> Backward<B, 3> for Conv2dBackward {
    /// The input's and the weights' checkpoints, and the padding.
    type State = (NodeId, NodeId, [usize; 2]);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, padding) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight);
        let input_grad = ops.parents[0].is_some();
        let computed = B::kernel_conv2d_backward(x, weight, grad, padding, input_grad);
        register::<B>(
            grads,
            ops.parents.map(|parent| parent.map(|node| node.id)),
            computed,
        );
    }
}

#[derive(Debug)]
struct Conv2dGemmBackward;

impl<B: KernelGrads> Backward<B, 3> for Conv2dGemmBackward {
    /// The input's and the weights' checkpoints, the stride and the padding.
    type State = (NodeId, NodeId, [usize; 2], [usize; 2]);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, stride, padding) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight);
        let input_grad = ops.parents[0].is_some();
        let computed = B::kernel_conv2d_gemm_backward(x, weight, grad, stride, padding, input_grad);
        register::<B>(
            grads,
            ops.parents.map(|parent| parent.map(|node| node.id)),
            computed,
        );
    }
}

#[derive(Debug)]
struct MaxPool2dBackward;

impl<B: KernelGrads> Backward<B, 1> for MaxPool2dBackward {
    /// The input's shape, where the maxima were, the window.
    type State = (Shape, Positions, [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [Some(node)] = ops.parents else {
            return;
        };
        let (shape, positions, window) = ops.state;
        let dx = B::kernel_max_pool2d_backward(shape, grad, &positions, window);
        grads.register::<B>(node.id, dx);
    }
}

#[derive(Debug)]
struct AvgPool2dBackward;

impl<B: KernelGrads> Backward<B, 1> for AvgPool2dBackward {
    /// The input's shape, the window, the stride.
    type State = (Shape, [usize; 2], [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [Some(node)] = ops.parents else {
            return;
        };
        let (shape, window, stride) = ops.state;
        let dx = B::kernel_avg_pool2d_backward(shape, grad, window, stride);
        grads.register::<B>(node.id, dx);
    }
}

#[derive(Debug)]
struct BatchNormTrainBackward;

impl<B: KernelGrads> Backward<B, 3> for BatchNormTrainBackward {
    /// The input's and gamma's checkpoints, the batch's mean and variance as
    /// the forward pass computed them, epsilon.
    type State = (NodeId, NodeId, FloatTensor<B>, FloatTensor<B>, f64);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, gamma, mean, variance, epsilon) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let gamma = checkpointer.retrieve_node_output::<FloatTensor<B>>(gamma);
        let computed = B::kernel_batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
        for (parent, grad) in ops.parents.into_iter().zip(computed) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

#[derive(Debug)]
struct Conv2dMaxPool2dBackward;

impl<B: KernelGrads> Backward<B, 3> for Conv2dMaxPool2dBackward {
    /// The input's and the weights' checkpoints, where the maxima were, the
    /// padding and the window.
    type State = (NodeId, NodeId, Positions, [usize; 2], [usize; 2]);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, positions, padding, window) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight);
        let input_grad = ops.parents[0].is_some();
        let computed = B::kernel_conv2d_max_pool2d_backward(
            x, weight, grad, &positions, padding, window, input_grad,
        );
        register::<B>(
            grads,
            ops.parents.map(|parent| parent.map(|node| node.id)),
            computed,
        );
    }
}

#[derive(Debug)]
struct Conv2dGemmMaxPool2dBackward;

impl<B: KernelGrads> Backward<B, 3> for Conv2dGemmMaxPool2dBackward {
    /// The input's and the weights' checkpoints, where the maxima were, the
    /// stride, the padding and the window.
    type State = (NodeId, NodeId, Positions, [[usize; 2]; 3]);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, positions, [stride, padding, window]) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight);
        let input_grad = ops.parents[0].is_some();
        let computed = B::kernel_conv2d_gemm_max_pool2d_backward(
            x, weight, grad, &positions, stride, padding, window, input_grad,
        );
        register::<B>(
            grads,
            ops.parents.map(|parent| parent.map(|node| node.id)),
            computed,
        );
    }
}

#[derive(Debug)]
struct CrossEntropyBackward;

impl<B: KernelGrads> Backward<B, 1> for CrossEntropyBackward {
    /// The logits and the targets.
    type State = (FloatTensor<B>, IntTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [Some(node)] = ops.parents else {
            return;
        };
        let (logits, targets) = ops.state;
        grads.register::<B>(
            node.id,
            B::kernel_cross_entropy_backward(logits, targets, grad),
        );
    }
}

impl<B: KernelGrads, C: CheckpointStrategy> KernelOps for Autodiff<B, C> {
    fn kernel_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&weight), padding);
                let out = B::kernel_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    padding,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kernel_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                padding,
            )),
        }
    }

    fn kernel_conv2d_gemm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        match Conv2dGemmBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    stride,
                    padding,
                );
                let out = B::kernel_conv2d_gemm(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    stride,
                    padding,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kernel_conv2d_gemm(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                stride,
                padding,
            )),
        }
    }

    fn kernel_max_pool2d(x: FloatTensor<Self>, window: [usize; 2]) -> FloatTensor<Self> {
        match MaxPool2dBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let shape = x.shape();
                let (out, positions) =
                    B::kernel_max_pool2d_with_positions(x.into_primitive(), window);
                prep.finish((shape, positions, window), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::kernel_max_pool2d(x.into_primitive(), window))
            }
        }
    }

    fn kernel_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        match BatchNormTrainBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let (out, mean, variance) = B::kernel_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let state = (
                    x_state,
                    gamma_state,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                );
                (
                    prep.finish(state, out),
                    Self::from_inner(mean),
                    Self::from_inner(variance),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (out, mean, variance) = B::kernel_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (
                    prep.finish(out),
                    Self::from_inner(mean),
                    Self::from_inner(variance),
                )
            }
        }
    }

    fn kernel_avg_pool2d(
        x: FloatTensor<Self>,
        window: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        match AvgPool2dBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let shape = x.shape();
                prep.finish(
                    (shape, window, stride),
                    B::kernel_avg_pool2d(x.into_primitive(), window, stride),
                )
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::kernel_avg_pool2d(x.into_primitive(), window, stride))
            }
        }
    }

    fn kernel_conv2d_max_pool2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: [usize; 2],
        window: [usize; 2],
    ) -> FloatTensor<Self> {
        match Conv2dMaxPool2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let (x_state, w_state) = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let (out, positions) = B::kernel_conv2d_max_pool2d_with_positions(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    padding,
                    window,
                );
                prep.finish((x_state, w_state, positions, padding, window), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kernel_conv2d_max_pool2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                padding,
                window,
            )),
        }
    }

    fn kernel_conv2d_gemm_max_pool2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        window: [usize; 2],
    ) -> FloatTensor<Self> {
        match Conv2dGemmMaxPool2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let (x_state, w_state) = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let (out, positions) = B::kernel_conv2d_gemm_max_pool2d_with_positions(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    stride,
                    padding,
                    window,
                );
                let geometry = [stride, padding, window];
                prep.finish((x_state, w_state, positions, geometry), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::kernel_conv2d_gemm_max_pool2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                stride,
                padding,
                window,
            )),
        }
    }

    fn kernel_cross_entropy(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        match CrossEntropyBackward
            .prepare::<C>([logits.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let logits = logits.into_primitive();
                let loss = B::kernel_cross_entropy(logits.clone(), targets.clone());
                prep.finish((logits, targets), loss)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::kernel_cross_entropy(logits.into_primitive(), targets))
            }
        }
    }

    /// Optimizers step the parameters outside the graph: untracked in and out.
    fn kernel_adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (param, m, v) = B::kernel_adam_step(
            param.into_primitive(),
            grad.into_primitive(),
            moment_1.into_primitive(),
            moment_2.into_primitive(),
            step,
        );
        (
            Self::from_inner(param),
            Self::from_inner(m),
            Self::from_inner(v),
        )
    }
}

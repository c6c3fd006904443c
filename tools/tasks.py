"""The task catalogue: every hole a participant fills, in slide order.

One entry per task. ``places`` name the functions (``file:Qualified.name``, or
``notebooks/x.ipynb:function``) whose ``### BEGIN SOLUTION`` blocks belong to the
task; the generator (tools/sync.py) checks that every block belongs to exactly
one task. ``marker`` is the pytest marker of the task's tests
(``pytest -m task3_2``); ``slide`` is the title of the slide that hands it out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    places: tuple[str, ...]
    hint: str
    slide: str
    optional: bool = False

    @property
    def marker(self) -> str:
        return "task" + self.id.replace(".", "_")

    @property
    def place(self) -> str:
        """The places for humans: 'nn/functions.py: MatMul.forward, MatMul.backward'."""
        by_file: dict[str, list[str]] = {}
        for place in self.places:
            file, name = place.split(":")
            by_file.setdefault(file, []).append(name)
        return "; ".join(f"{file}: {', '.join(names)}" for file, names in by_file.items())


TASKS: tuple[Task, ...] = (
    Task("1.1", "Central difference", ("nn/gradcheck.py:central_difference",),
         "return (f(x + eps) - f(x - eps)) / (2 * eps)",
         "Go ahead: the numerical derivative"),
    Task("2.1", "Scalar derivatives", (
        "nn/scalar.py:Mul.backward", "nn/scalar.py:Div.backward", "nn/scalar.py:Pow.backward",
        "nn/scalar.py:Exp.backward", "nn/scalar.py:Log.backward", "nn/scalar.py:Tanh.backward",
        "nn/scalar.py:Sigmoid.backward", "nn/scalar.py:ReLU.backward"),
         "each backward returns d_out times the local derivative, one value per input; "
         "forward left what it needs in ctx.saved (Add.backward is done for you as an example)",
         "Go ahead: local derivatives"),
    Task("2.2", "Topological order", ("nn/graph.py:topological_order",),
         "depth-first search with an explicit stack: a node goes into the list after all of its parents()",
         "Go ahead: backpropagation"),
    Task("2.3", "Scalar backward pass", ("nn/scalar.py:Scalar.backward",),
         "zero the computed nodes' grad, set self.grad = 1.0, then for each computed node in "
         "reversed(topological_order(self)): add (+=) node._function.backward(node, node.grad) "
         "to the grad of node._input_a (and node._input_b); release the node unless retain_graph "
         "(the docstring spells out each step)",
         "Go ahead: backpropagation"),
    Task("3.1", "Undo broadcasting", ("nn/functions.py:sum_to",),
         "sum grad over the leading axes broadcasting added and over axes where shape has size 1 "
         "(keepdims=True), then reshape to shape",
         "Go ahead: tensors"),
    Task("3.2", "Matrix multiplication", ("nn/functions.py:MatMul.forward", "nn/functions.py:MatMul.backward"),
         "forward: save a and b on ctx, return a @ b; backward: return grad @ b.T, a.T @ grad",
         "Go ahead: tensors"),
    Task("3.3", "Sum and mean backward", ("nn/functions.py:Sum.backward", "nn/functions.py:Mean.backward"),
         "reshape grad to the keepdims shape, _reduced_shape_keepdims(ctx.a_shape, ctx.axis) (defined just above), "
         "then np.broadcast_to(grad, ctx.a_shape); Mean: also divide by ctx.count",
         "Go ahead: tensors"),
    Task("3.4", "Xavier initialization", ("nn/linear.py:xavier_uniform",),
         "limit = sqrt(6 / (fan_in + fan_out)); rng.uniform(-limit, limit, size=(fan_in, fan_out))",
         "Go ahead: the linear layer"),
    Task("3.5", "Linear forward", ("nn/linear.py:Linear.forward",),
         "return x @ self.weight + self.bias (just x @ self.weight when self.bias is None) — "
         "x is (batch, in_features), weight is (in_features, out_features)",
         "Go ahead: the linear layer"),
    Task("4.1", "Step", ("act/functions.py:Step.forward", "act/functions.py:Step.backward"),
         "forward: 1 where x > 0 else 0; backward: the derivative is 0 everywhere (return zeros)",
         "Go ahead: activation functions"),
    Task("4.2", "Sigmoid", ("act/functions.py:stable_sigmoid", "act/functions.py:Sigmoid.forward",
                            "act/functions.py:Sigmoid.backward"),
         "stable_sigmoid: with e = np.exp(-np.abs(x)), σ = 1/(1+e) where x >= 0 and e/(1+e) elsewhere "
         "(np.where; no overflow); Sigmoid.forward saves and returns stable_sigmoid(x); "
         "backward: grad * σ(x)(1 - σ(x))",
         "Go ahead: activation functions"),
    Task("4.3", "Tanh", ("act/functions.py:Tanh.forward", "act/functions.py:Tanh.backward"),
         "forward: np.tanh(x); backward: grad * (1 - tanh(x)²)",
         "Go ahead: activation functions"),
    Task("4.4", "ReLU", ("act/functions.py:ReLU.forward", "act/functions.py:ReLU.backward"),
         "forward: max(x, 0); backward: grad where x > 0, else 0",
         "Go ahead: activation functions"),
    Task("4.5", "Leaky ReLU", ("act/functions.py:LeakyReLU.forward", "act/functions.py:LeakyReLU.backward"),
         "forward: x where x > 0 else alpha * x; backward: grad times 1 or alpha",
         "Go ahead: activation functions"),
    Task("4.6", "Swish", ("act/functions.py:Swish.forward", "act/functions.py:Swish.backward"),
         "forward: x * stable_sigmoid(x) (from task 4.2), saving x and σ(x) on ctx; "
         "backward: grad * (σ(x) + x σ(x)(1 - σ(x)))",
         "Go ahead: activation functions"),
    Task("4.7", "Softmax", ("act/functions.py:Softmax.forward", "act/functions.py:Softmax.backward"),
         "forward: e = np.exp(x - x.max(axis, keepdims=True)) (the max shift: no overflow), return e / e.sum(axis, keepdims=True); "
         "backward: s * (grad - (grad * s).sum(axis, keepdims=True))",
         "Go ahead: activation functions"),
    Task("5.1", "Cross-entropy", ("loss/functions.py:CrossEntropy.forward", "loss/functions.py:CrossEntropy.backward"),
         "forward: shifted = logits - row max; log_probs = shifted - log(sum(exp(shifted))) per row; "
         "return the mean of -log_probs[i, labels[i]] (save the softmax exp(log_probs) and the labels on ctx); "
         "backward: grad * (softmax - onehot) / N",
         "Go ahead: the loss"),
    Task("5.2", "Mean squared error", ("loss/functions.py:MSE.forward", "loss/functions.py:MSE.backward"),
         "forward: mean((pred - target)²) as an array (np.asarray); "
         "backward: d = grad * 2 (pred - target) / pred.size; return d, -d (pred, target)",
         "Go ahead: the loss"),
    Task("5.3", "SGD update", ("nn/optim.py:SGD.update",),
         "p.data -= self.lr * direction  (in place, so the model sees the new values)",
         "Go ahead: gradient descent"),
    Task("6.1", "forward (train.ipynb)", ("notebooks/train.ipynb:forward",),
         "return model(x): the logits, shape (batch, 10)",
         "Go ahead: train on MNIST"),
    Task("6.2", "forward_backward (train.ipynb)", ("notebooks/train.ipynb:forward_backward",),
         "logits = forward(model, x); batch_loss = loss.cross_entropy(logits, y); batch_loss.backward(); "
         "optimizer.step(); optimizer.zero_grad(); return batch_loss.item()",
         "Go ahead: train on MNIST"),
    Task("6.3", "accuracy (train.ipynb)", ("notebooks/train.ipynb:accuracy",),
         "under `with nn.no_grad():` get the logits of forward(model, nn.Tensor(images)); return the "
         "fraction (0 to 1) of rows whose argmax(axis=1) equals the label, as a float",
         "Go ahead: train on MNIST"),
    Task("7.1", "Momentum", ("nn/optim.py:SGD.momentum_direction",),
         "v = momentum * v + grad (in place, v[...] = ...); return v",
         "Go ahead: extensions", optional=True),
    Task("7.2", "Adam", ("nn/optim.py:Adam.step",),
         "m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; bias-correct both; p -= lr m̂ / (√v̂ + eps)",
         "Go ahead: extensions", optional=True),
    Task("7.3", "RMSProp", ("nn/optim.py:RMSProp.step",),
         "s = alpha s + (1-alpha) g²; p -= lr g / (√s + eps)",
         "Go ahead: extensions", optional=True),
    Task("8.1", "Convolution forward", ("nn/conv.py:im2col", "nn/conv.py:Convolution.forward"),
         "im2col: pad the images, cut out the windows (sliding_windows) and lay each window out as one row "
         "(batch·oh·ow rows of c·kh·kw values); forward: save the rows as ctx.rows, multiply them by the kernels "
         "seen as one matrix, add the bias, and bring the result to (batch, out_channels, oh, ow)",
         "Go ahead: convolutions", optional=True),
    Task("8.2", "Convolution backward", ("nn/conv.py:col2im", "nn/conv.py:Convolution.backward"),
         "the product's gradients, as in Linear, on the rows: dL/dW from gᵀ and the rows, dL/dbias by summing g, "
         "the rows' gradient from g and W; col2im takes the rows' gradient back to images (undo im2col's layout, "
         "add every window back where it was cut from, drop the padding)",
         "Go ahead: convolutions", optional=True),
    Task("8.3", "Max pooling backward", ("nn/pool.py:MaxPooling.backward",),
         "each window's gradient goes whole to the element that won it (ctx.winner marks it), 0 to the others; "
         "then the windows go back onto the input with add_windows_back",
         "Go ahead: convolutions", optional=True),
)

TASKS_BY_ID = {task.id: task for task in TASKS}
TASKS_BY_MARKER = {task.marker: task for task in TASKS}

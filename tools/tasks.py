"""The task catalogue: every hole a participant fills, in slide order.

One entry per task. ``places`` name the functions (``file:Qualified.name``, or
``notebooks/x.ipynb:function``) whose ``### BEGIN SOLUTION`` blocks belong to the
task; the generator (tools/sync.py) checks that every block belongs to exactly
one task. ``marker`` is the pytest marker of the task's tests
(``pytest -m task3_2``); ``slide`` is the title of the slide that hands it out.

What a participant sees without asking is the ``goal`` (in the TODO comment and
the NotImplementedError of every hole): what to compute, the inputs and outputs
with their shapes, and the math as math (∂L/∂a, σ(x)(1 − σ(x))), never a line of
code that solves the task. ``hints`` are shown on request (``make hint``), one
level at a time: (1) a question that points at the idea, (2) the math or shape
reasoning, complete, (3) close to code; code in level 3 goes between backticks
and must match the reference (tests/test_hints.py checks both rules).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    places: tuple[str, ...]
    goal: str
    hints: tuple[str, str, str]
    slide: str
    optional: bool = False

    def __post_init__(self):
        if not self.goal.strip() or " — " in self.goal:
            raise ValueError(f"task {self.id}: goal must be a non-empty text without ' — ' "
                             "(the error messages use it as a separator)")
        if len(self.hints) != 3 or not all(isinstance(h, str) and h.strip() for h in self.hints):
            raise ValueError(f"task {self.id}: hints must be three non-empty texts "
                             "(a question, the math, close to code)")

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
         goal="Return the central-difference estimate of the derivative of f at x: "
              "f'(x) ≈ (f(x + ε) − f(x − ε)) / 2ε with ε = eps. "
              "It must work for a float x and, elementwise, for an ndarray x (the result has x's shape).",
         hints=("Which two points around x does the chord of the central difference join, "
                "and how far apart are they?",
                "Evaluate f one step ε to the right of x and one step ε to the left; the chord between "
                "(x − ε, f(x − ε)) and (x + ε, f(x + ε)) rises by f(x + ε) − f(x − ε) over a run of 2ε. "
                "Slope = rise / run. NumPy arithmetic is elementwise, so the same expression works for arrays.",
                "One line: `return (f(x + eps) - f(x - eps)) / (2 * eps)`."),
         slide="Go ahead: the numerical derivative"),
    Task("2.1", "Scalar derivatives", (
        "nn/scalar.py:Mul.backward", "nn/scalar.py:Div.backward", "nn/scalar.py:Pow.backward",
        "nn/scalar.py:Exp.backward", "nn/scalar.py:Log.backward", "nn/scalar.py:Tanh.backward",
        "nn/scalar.py:Sigmoid.backward", "nn/scalar.py:ReLU.backward"),
         goal="backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for "
              "each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; "
              "forward left the values it needs in ctx.saved. Add.backward is done as an example.",
         hints=("Mul: out = a · b. If a grows by a tiny h, how much does out grow? And the final result?",
                "∂final/∂a = ∂final/∂out · ∂out/∂a = d_out · b, and likewise d_out · a for b. "
                "Div: d_out / b and −d_out · a / b². Pow: d_out · p · aᵖ⁻¹. Exp: d_out · out. Log: d_out / a. "
                "Tanh: d_out (1 − out²). Sigmoid: d_out · out (1 − out). ReLU: d_out if a > 0 else 0. "
                "What ctx.saved holds is set in each forward (a pair (a, b), or one number).",
                "Unpack what forward saved, then return one product per input, e.g. Mul: "
                "`a, b = ctx.saved` and `return d_out * b, d_out * a`; Exp: `return (d_out * ctx.saved,)` "
                "(a one-input Function returns a 1-tuple: mind the comma)."),
         slide="Go ahead: local derivatives"),
    Task("2.2", "Topological order", ("nn/graph.py:topological_order",),
         goal="Return a list of every node that root depends on (root included), each exactly once, "
              "every node after all of its parents() and root last. No recursion: a graph may be "
              "100,000 nodes deep.",
         hints=("When may a node go into the list, and how do you remember that you are coming back to "
                "a node after its parents are done?",
                "Depth-first search: visit a node's parents first, and append the node only when all of them "
                "have been appended. Replace recursion by a stack of (node, parents_done) pairs: push "
                "(node, True) and then (parent, False) for each parent; popping (node, True) means its "
                "parents are done. A set of visited nodes makes each node appear once.",
                "a stack that starts as `[(root, False)]`; `while stack:` pop `node, parents_done`; if parents_done, "
                "`order.append(node)`; else skip visited nodes, `visited.add(node)`, "
                "`stack.append((node, True))` and push `(parent, False)` for each of `node.parents()`."),
         slide="Go ahead: backpropagation"),
    Task("2.3", "Scalar backward pass", ("nn/scalar.py:Scalar.backward",),
         goal="Set node.grad = ∂self/∂node on every Scalar self depends on: computed nodes start from 0, "
              "inputs accumulate, and ∂self/∂self = 1 is added to self.grad; apply each node's Function backward in reverse "
              "topological order and add (+=) its results to the node's inputs; then release the graph "
              "(each computed node forgets its inputs and saved values) unless retain_graph.",
         hints=("In which order must the nodes pass their gradient on, so that a node's grad is complete "
                "before it is used? And why += rather than = ?",
                "order = topological_order(self). Reset grad to 0 on the computed nodes (those with a "
                "_function), then add 1 to self.grad (0 + 1 for a computed self; an input self accumulates like any "
                "input). Walk the order reversed; skip inputs (no _function); for a "
                "computed node, its Function's backward(node, node.grad) returns one gradient per input "
                "(the node is its own ctx): add the first to _input_a.grad and the second, if there is an "
                "_input_b, to _input_b.grad. Unless retain_graph, set the node's saved, _input_a and "
                "_input_b to None once used.",
                "`order = topological_order(self)`; zero `node.grad` where `node._function is not None`; "
                "`self.grad += 1.0`; `for node in reversed(order):` … "
                "`input_grads = node._function.backward(node, node.grad)`, "
                "`node._input_a.grad += input_grads[0]` (and `[1]` for `_input_b`); "
                "release with `node.saved = node._input_a = node._input_b = None`."),
         slide="Go ahead: backpropagation"),
    Task("3.1", "Undo broadcasting", ("nn/functions.py:sum_to",),
         goal="Return grad (the gradient of a broadcast result) summed back to shape: over the leading "
              "axes that broadcasting added, and over the axes where shape has size 1 but grad does not. "
              "Example: grad (2, 3) → shape (3,): ∂L/∂x[j] = Σᵢ grad[i, j].",
         hints=("Compare grad.shape and shape aligned from the right: which axes of grad did broadcasting "
                "create or stretch?",
                "With extra = grad.ndim − len(shape), the first extra axes of grad were added by "
                "broadcasting: sum them all. Among the remaining axes, sum those where shape has size 1 and "
                "grad a larger size. Sum with keepdims so the axes stay aligned, then reshape to shape "
                "(which drops the leading size-1 axes). If the shapes are already equal, return grad.",
                "`extra = grad.ndim - len(shape)`; axes = `tuple(range(extra))` plus "
                "`extra + i` for each `i, size in enumerate(shape)` with `size == 1`; "
                "`return grad.sum(axis=axes, keepdims=True).reshape(shape)`."),
         slide="Go ahead: tensors"),
    Task("3.2", "Matrix multiplication", ("nn/functions.py:MatMul.forward", "nn/functions.py:MatMul.backward"),
         goal="forward: out = a·b for a of shape (N, K) and b of shape (K, M), out (N, M); save what "
              "backward needs on ctx. backward: from grad = ∂L/∂out (N, M) return ∂L/∂a (N, K) and "
              "∂L/∂b (K, M), where ∂L/∂a_ik = Σ_m ∂L/∂out_im · b_km and ∂L/∂b_km = Σ_n a_nk · ∂L/∂out_nm.",
         hints=("∂L/∂a must have a's shape (N, K): which product of grad (N, M) and b (K, M), "
                "transposed or not, has that shape?",
                "Σ_m grad_im · b_km is the matrix product grad · bᵀ: (N, M)(M, K) → (N, K). "
                "Σ_n a_nk · grad_nm is aᵀ · grad: (K, N)(N, M) → (K, M). So forward must keep a and b. "
                "(ctx.needs_input_grad tells which of the two anyone needs; you may return None for the other.)",
                "forward: `ctx.a, ctx.b = a, b` then `return a @ b`; "
                "backward: ∂L/∂a = `grad @ ctx.b.T`, ∂L/∂b = `ctx.a.T @ grad`; return both (a tuple)."),
         slide="Go ahead: tensors"),
    Task("3.3", "Sum and mean backward", ("nn/functions.py:Sum.backward", "nn/functions.py:Mean.backward"),
         goal="Return ∂L/∂a of shape ctx.a_shape from grad = ∂L/∂out: Sum: every element of a that was "
              "summed into out gets that out's gradient (∂out/∂a = 1); Mean: the same divided by ctx.count, "
              "the number of elements averaged. ctx.axis is the reduced axis (None: all).",
         hints=("grad has the reduced shape (the summed axes gone, unless keepdims). How do you copy one "
                "value back to every element it was summed from?",
                "First give grad the shape the reduction would have with keepdims=True (size 1 on the "
                "reduced axes): _reduced_shape_keepdims(ctx.a_shape, ctx.axis), defined just above. Then "
                "broadcast it to ctx.a_shape: each out value is copied over its axis. Mean: divide by ctx.count.",
                "`grad = grad.reshape(_reduced_shape_keepdims(ctx.a_shape, ctx.axis))` "
                "(Mean: then `/ ctx.count`), then `return np.broadcast_to(grad, ctx.a_shape)`."),
         slide="Go ahead: tensors"),
    Task("3.4", "Xavier and He initialization", ("nn/linear.py:xavier_uniform", "nn/linear.py:he_uniform"),
         goal="Return a weight matrix of shape (fan_in, fan_out) drawn from U(−a, a), using the generator rng: "
              "xavier_uniform with a = √(6 / (fan_in + fan_out)) (Linear's default, for tanh- and sigmoid-like "
              "layers), he_uniform with a = √(6 / fan_in) (Conv2d's default, for layers followed by ReLU).",
         hints=("Which numpy.random.Generator method draws uniform numbers between two bounds, "
                "with a given shape? And what is the only difference between the two functions?",
                "Compute the limit a: √(6 / (fan_in + fan_out)) for Xavier, √(6 / fan_in) for He; then draw "
                "fan_in × fan_out numbers uniformly between −a and a from rng (not from np.random: the caller's "
                "seed must count). The drawing is the same in both; only a differs.",
                "Xavier: `limit = np.sqrt(6.0 / (fan_in + fan_out))`, He: `limit = np.sqrt(6.0 / fan_in)`; "
                "both then `return rng.uniform(-limit, limit, size=(fan_in, fan_out))`."),
         slide="Go ahead: the linear layer"),
    Task("3.5", "Linear forward", ("nn/linear.py:Linear.forward",),
         goal="Return out = x·W + b as a Tensor: x (batch, in_features), weight W "
              "(in_features, out_features), bias b (out_features,) added to every row; no bias when "
              "self.bias is None.",
         hints=("Which Tensor operations give x·W and add b to every row, recording the graph "
                "so that backward reaches the weights?",
                "x @ weight is (batch, in)(in, out) → (batch, out); adding the bias (out,) broadcasts it "
                "over the rows, and your sum_to undoes that in backward. Both are Tensor operators, so the "
                "graph is recorded. Skip the addition when the layer has no bias.",
                "`out = x @ self.weight`, then "
                "`return out if self.bias is None else out + self.bias`."),
         slide="Go ahead: the linear layer"),
    Task("4.1", "Step", ("act/functions.py:Step.forward", "act/functions.py:Step.backward"),
         goal="forward: step(x) = 1 where x > 0, else 0, elementwise, in x's dtype. "
              "backward: ∂step/∂x = 0 wherever it is defined: an all-zero gradient of grad's shape.",
         hints=("Which NumPy expression gives True/False per element, and how do you turn that into 1.0/0.0?",
                "Comparing x with 0 gives one boolean per element; converted to x's dtype, True and False "
                "become 1.0 and 0.0. The derivative is 0, "
                "so backward returns zeros of grad's shape (not None: the shape check wants an array).",
                "forward: `return (x > 0).astype(x.dtype)`; backward: `return np.zeros_like(grad)`."),
         slide="Go ahead: activation functions"),
    Task("4.2", "Sigmoid", ("act/functions.py:stable_sigmoid", "act/functions.py:Sigmoid.forward",
                            "act/functions.py:Sigmoid.backward"),
         goal="stable_sigmoid: σ(x) = 1 / (1 + e⁻ˣ) for every x without overflow: for x < 0 use the equal "
              "form eˣ / (1 + eˣ). Sigmoid.forward returns σ(x); backward returns grad · σ(x)(1 − σ(x)).",
         hints=("Which single exponential is always between 0 and 1, whatever the sign of x, and serves "
                "both forms of σ?",
                "e = e^(−|x|) is in (0, 1]: for x ≥ 0, σ = 1 / (1 + e); for x < 0, σ = e / (1 + e). "
                "Choose per element with np.where (both branches are finite, so no warnings). "
                "forward keeps s = σ(x) on ctx, since backward needs exactly that: grad · s (1 − s).",
                "`e = np.exp(-np.abs(x))`, `return np.where(x >= 0, 1 / (1 + e), e / (1 + e))`; "
                "forward: `ctx.out = stable_sigmoid(x)`, return it; backward: `grad * s * (1 - s)` "
                "with `s = ctx.out`."),
         slide="Go ahead: activation functions"),
    Task("4.3", "Tanh", ("act/functions.py:Tanh.forward", "act/functions.py:Tanh.backward"),
         goal="forward: tanh(x) elementwise; backward: grad · (1 − tanh(x)²).",
         hints=("The derivative is written in terms of tanh(x) itself: what should forward keep for backward?",
                "Keep out = tanh(x) on ctx (NumPy has tanh, stable for any x); backward multiplies grad "
                "elementwise by 1 − out².",
                "forward: `ctx.out = np.tanh(x)`, return it; backward: `return grad * (1 - ctx.out**2)`."),
         slide="Go ahead: activation functions"),
    Task("4.4", "ReLU", ("act/functions.py:ReLU.forward", "act/functions.py:ReLU.backward"),
         goal="forward: relu(x) = max(x, 0) elementwise; backward: grad where x > 0, 0 elsewhere "
              "(also 0 at x = 0).",
         hints=("What does backward need to know about each element of x, and which NumPy function takes "
                "an elementwise maximum?",
                "The derivative is 1 where x > 0 and 0 elsewhere: save that mask (a boolean array) in "
                "forward; backward multiplies grad by it. forward itself is the larger of x and 0, element "
                "by element: NumPy's element-wise maximum compares an array with a number too.",
                "forward: `ctx.positive = x > 0`, `return np.maximum(x, 0)`; "
                "backward: `return grad * ctx.positive`."),
         slide="Go ahead: activation functions"),
    Task("4.5", "Leaky ReLU", ("act/functions.py:LeakyReLU.forward", "act/functions.py:LeakyReLU.backward"),
         goal="forward: x where x > 0, else α·x (α = alpha); backward: grad · 1 where x > 0, grad · α "
              "elsewhere.",
         hints=("Like ReLU, but the other branch is α·x: which NumPy function picks between two arrays "
                "per element, and what must backward remember?",
                "Keep the mask x > 0 and alpha on ctx. forward: where the mask holds take x, else alpha·x; "
                "backward: where it holds take grad, else alpha·grad (np.where for both).",
                "forward: `ctx.positive, ctx.alpha = x > 0, alpha`, "
                "`return np.where(ctx.positive, x, alpha * x)`; "
                "backward: `return np.where(ctx.positive, grad, ctx.alpha * grad)`."),
         slide="Go ahead: activation functions"),
    Task("4.6", "Swish", ("act/functions.py:Swish.forward", "act/functions.py:Swish.backward"),
         goal="forward: swish(x) = x · σ(x) (use your stable_sigmoid from task 4.2); backward: "
              "grad · (σ(x) + x · σ(x)(1 − σ(x))) (the product rule).",
         hints=("The derivative needs both x and σ(x): what should forward keep on ctx?",
                "Product rule on x · σ(x): (x)' σ(x) + x σ'(x) = σ(x) + x σ(x)(1 − σ(x)). Compute s = σ(x) "
                "once with stable_sigmoid, keep x and s, return x · s; backward multiplies grad by the "
                "derivative, elementwise.",
                "forward: `ctx.x, ctx.s = x, stable_sigmoid(x)`, `return x * ctx.s`; "
                "backward: `return grad * (s + x * s * (1 - s))`."),
         slide="Go ahead: activation functions"),
    Task("4.7", "Softmax", ("act/functions.py:Softmax.forward", "act/functions.py:Softmax.backward"),
         goal="forward: softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ along axis, without overflow (subtract the max along "
              "axis first: the result is the same). backward: with s = softmax(x) and g = grad, "
              "∂L/∂xᵢ = sᵢ (gᵢ − Σⱼ gⱼ sⱼ), the sum along axis.",
         hints=("Why does subtracting the row's maximum not change the result, and what does it do to "
                "the exponents? Which reductions need keepdims=True to broadcast back?",
                "e = exp(x − max(x)) along axis (every exponent ≤ 0); s = e / Σ e along the same axis, both "
                "reductions with keepdims so they broadcast over the axis. Keep s and axis on ctx. "
                "backward: Σⱼ gⱼ sⱼ is the sum of g·s along axis (keepdims); subtract it from g and "
                "multiply by s.",
                "`e = np.exp(x - x.max(axis=axis, keepdims=True))`, keep `e / e.sum(axis=axis, keepdims=True)` and axis on ctx; "
                "backward: `return s * (grad - (grad * s).sum(axis=ctx.axis, keepdims=True))` with `s = ctx.out`."),
         slide="Go ahead: activation functions"),
    Task("5.1", "Cross-entropy", ("loss/functions.py:CrossEntropy.forward", "loss/functions.py:CrossEntropy.backward"),
         goal="forward: the mean over the N rows of −log softmax(zᵢ)[yᵢ] for logits z (N, C) and class "
              "indices labels (N,), computed stably: log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m), m = max z "
              "per row; return a 0-d array. backward: grad · (softmax(z) − onehot(y)) / N, shape (N, C).",
         hints=("Which quantity from forward does backward need again, and how do you pick, in each row i, "
                "the entry of column labels[i]?",
                "Per row: shifted = z − max(z) (keepdims), log_probs = shifted − log Σ exp(shifted). The loss is "
                "the mean of −log_probs[i, yᵢ] (fancy indexing with row numbers 0…N−1 and labels). Keep "
                "softmax = exp(log_probs) and the labels; backward: copy softmax, subtract 1 at [i, yᵢ], "
                "divide by N and multiply by grad.",
                "`shifted = logits - logits.max(axis=1, keepdims=True)`, "
                "`log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))`, "
                "return `np.asarray(-log_probs[np.arange(n), labels].mean())`; backward: "
                "`d_logits = ctx.probs.copy()`, `d_logits[np.arange(n), ctx.labels] -= 1`, "
                "`return grad * d_logits / n`."),
         slide="Go ahead: the loss"),
    Task("5.2", "Mean squared error", ("loss/functions.py:MSE.forward", "loss/functions.py:MSE.backward"),
         goal="forward: mse = (1/n) Σ (pred − target)² over all n elements, as a 0-d array. "
              "backward: ∂mse/∂pred = grad · 2 (pred − target) / n and ∂mse/∂target = its negative; "
              "return both.",
         hints=("What does backward need from forward, and how are the two gradients related?",
                "Keep the difference d = pred − target. Forward: the mean of d² (np.mean returns a NumPy "
                "scalar: wrap it as an array). Backward: ∂/∂pred of (1/n) Σ d² is 2d/n, times grad; "
                "since d = pred − target, ∂/∂target is the same with a minus sign.",
                "forward: `ctx.diff = pred - target`, `return np.asarray(np.mean(ctx.diff**2))`; "
                "backward: `d_pred = grad * 2 * ctx.diff / ctx.diff.size`, `return d_pred, -d_pred`."),
         slide="Go ahead: the loss"),
    Task("5.3", "SGD update", ("nn/optim.py:SGD.update",),
         goal="Move the parameter p one step against direction: p ← p − lr · direction, changing the "
              "array p.data in place: the step then makes no new array, and anything that refers to that "
              "array (a view of it, a variable holding it) sees the new values.",
         hints=("What is the difference between x = x − y and x −= y for a NumPy array that something else "
                "also refers to?",
                "x = x − y builds a new array and points x at it: whatever refers to the old array (a view, "
                "another variable) keeps the old values, and every step makes a new array. x −= y writes "
                "into the existing array. So subtract lr · direction from p.data in place.",
                "One line: `p.data -= self.lr * direction`."),
         slide="Go ahead: gradient descent"),
    Task("6.1", "forward (train.ipynb)", ("notebooks/train.ipynb:forward",),
         goal="Return the model's output for the batch x (an nn.Tensor of shape (batch, 784)): "
              "the logits, shape (batch, 10).",
         hints=("How do you run an nn.Module on an input?",
                "A Module is callable: calling it runs its forward, layer after layer for nn.Sequential.",
                "`return model(x)`."),
         slide="Go ahead: train on MNIST"),
    Task("6.2", "forward_backward (train.ipynb)", ("notebooks/train.ipynb:forward_backward",),
         goal="One step of gradient descent on the batch (x, y): the cross-entropy loss of the logits, "
              "the gradients of every parameter, one optimizer step; return the loss as a Python float. "
              "The step must use this batch's gradients alone: backward adds to the gradients, so reset "
              "them once per call, before the backward pass or after the step.",
         hints=("Which five things happen in every training step, and in which order?",
                "In order: 1. the logits of the batch (the forward pass); 2. their cross-entropy loss "
                "against the labels; 3. the backward pass from that loss, which gives every parameter its "
                "gradient; 4. one step of the optimizer, which moves each parameter against its gradient; "
                "5. the gradients reset to zero: the backward pass adds to them, so each step must start "
                "from zero (resetting first, before the backward pass, works as well). The loss goes back "
                "as a plain Python number, not as a Tensor.",
                "`logits = forward(model, x)`, `batch_loss = loss.cross_entropy(logits, y)`, "
                "`batch_loss.backward()`, `optimizer.step()`, `optimizer.zero_grad()`, "
                "`return batch_loss.item()`."),
         slide="Go ahead: train on MNIST"),
    Task("6.3", "accuracy (train.ipynb)", ("notebooks/train.ipynb:accuracy",),
         goal="Return the fraction (a float from 0 to 1) of images whose largest logit is at the true "
              "label, computing the logits without recording a graph (nn.no_grad()).",
         hints=("How do you get the predicted class of each row from the logits (batch, 10), and how do "
                "you turn a boolean array into a fraction?",
                "Evaluation needs no gradients, so compute the logits of the images (as a Tensor) while "
                "no graph is recorded. The predicted class of a row is the position of its largest logit "
                "(along axis 1, on the logits' ndarray); compare the predictions with the labels: the mean "
                "of those booleans is the fraction right, as a Python float.",
                "`with nn.no_grad():` `logits = forward(model, nn.Tensor(images))`; "
                "`return float(np.mean(logits.data.argmax(axis=1) == labels))`."),
         slide="Go ahead: train on MNIST"),
    Task("7.1", "Momentum", ("nn/optim.py:SGD.momentum_direction",),
         goal="Update the velocity in place, v ← μ · v + grad (μ = self.momentum; velocity is the array "
              "remembered between steps), and return it as the direction.",
         hints=("The velocity must survive until the next step: what happens to a new array you build here?",
                "velocity is stored in self.velocities; rebinding the name (v = μ v + g) builds a new array "
                "that is forgotten after this call. Change the existing one: multiply it by μ in place, "
                "add grad in place, return it.",
                "`velocity *= self.momentum`, `velocity += grad`, `return velocity`."),
         slide="Go ahead: extensions", optional=True),
    Task("7.2", "Adam", ("nn/optim.py:Adam.step",),
         goal="For each parameter, with g = p.grad and t = self.t: update m ← β₁ m + (1 − β₁) g and "
              "v ← β₂ v + (1 − β₂) g² in place (they are remembered between steps), bias-correct "
              "m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ), and move p.data in place by −lr · m̂ / (√v̂ + eps).",
         hints=("m and v live in self.m and self.v between steps: how do you update them without building "
                "new arrays? And which of m, v, m̂, v̂ must be stored?",
                "In place: m *= β₁ then m += (1 − β₁) g; v *= β₂ then v += (1 − β₂) g². m̂ and v̂ are "
                "temporary (new arrays are fine): divide by 1 − β₁ᵗ and 1 − β₂ᵗ. The step changes p.data "
                "in place: subtract lr · m̂ / (√v̂ + eps).",
                "`m *= beta1`, `m += (1 - beta1) * g`, `v *= beta2`, `v += (1 - beta2) * g * g`, "
                "`m_hat = m / (1 - beta1**t)`, `v_hat = v / (1 - beta2**t)`, "
                "`p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)`."),
         slide="Go ahead: extensions", optional=True),
    Task("7.3", "RMSProp", ("nn/optim.py:RMSProp.step",),
         goal="For each parameter, with g = p.grad: update s ← α s + (1 − α) g² in place (s is remembered "
              "between steps) and move p.data in place by −lr · g / (√s + eps).",
         hints=("s lives in self.squares between steps: how do you update it without building a new array?",
                "In place: s *= α, then s += (1 − α) g². Then subtract lr · g / (√s + eps) from p.data in place.",
                "`s *= alpha`, `s += (1 - alpha) * g * g`, "
                "`p.data -= self.lr * g / (np.sqrt(s) + self.eps)`."),
         slide="Go ahead: extensions", optional=True),
    Task("8.1", "Convolution forward", ("nn/conv.py:im2col", "nn/conv.py:Convolution.forward"),
         goal="im2col: images x (batch, c, h, w) → rows (oh·ow·batch, c·kh·kw), one row per output position "
              "(output row, then column, then image) holding the padded window the kernel sees there. "
              "forward: out[n, o, i, j] = Σ_{c, di, dj} x_padded[n, c, i·s + di, j·s + dj] · weight[o, c, di, dj] + bias[o], shape "
              "(batch, out_channels, oh, ow), computed as one matrix product of the rows with the kernels; "
              "keep the rows as ctx.rows for backward.",
         hints=("If every window is one row and every kernel one row of a matrix W (out_channels, c·kh·kw), "
                "which matrix product gives every output value at once?",
                "im2col: pad, cut the windows with sliding_windows (a view of shape (batch, c, oh, ow, kh, kw)), "
                "then order the axes so that each output position (oh, then ow, then batch: the batch innermost, "
                "see the module's docstring) is one row of c·kh·kw values, channel by channel. forward: W = weight "
                "reshaped to (out_channels, c·kh·kw); W · rowsᵀ is (out_channels, oh·ow·batch); add bias[o] to "
                "row o, reshape to (out_channels, oh, ow, batch) and move the batch axis first.",
                "im2col: `windows = sliding_windows(pad(x, padding), kernel_size, stride)`, "
                "`batch, channels, out_h, out_w, kernel_h, kernel_w = windows.shape`, then "
                "`windows.transpose(1, 4, 5, 2, 3, 0)` and `reshape(channels * kernel_h * kernel_w, "
                "out_h * out_w * batch)`, returned transposed; forward: "
                "`ctx.rows = im2col(x, kernel_size, stride, padding)`, "
                "`weight_matrix = weight.reshape(out_channels, -1)`, "
                "`out = weight_matrix @ ctx.rows.T`, `out += bias[:, None]`, then "
                "`out.reshape(out_channels, out_h, out_w, batch).transpose(3, 0, 1, 2)`."),
         slide="Go ahead: convolutions", optional=True),
    Task("8.2", "Convolution backward", ("nn/conv.py:col2im", "nn/conv.py:Convolution.backward"),
         goal="backward: from g = ∂L/∂out (batch, out_channels, oh, ow) return ∂L/∂x, ∂L/∂weight and ∂L/∂bias "
              "(None where ctx.needs_input_grad says nobody needs it): the derivatives of out = W · rowsᵀ + "
              "bias, as in Linear, with G = g laid out as W · rowsᵀ, (out_channels, oh·ow·batch), then col2im. "
              "Read only ctx.rows, ctx.weight, ctx.x_shape, ctx.stride and ctx.padding (the output's shape is "
              "grad.shape). col2im: the gradient of the rows (oh·ow·batch, c·kh·kw) → "
              "the gradient of the images (batch, c, h, w): every window's gradient added back onto the "
              "pixels it was cut from, the padding dropped.",
         hints=("Seen as matrices, the convolution is Linear's product: what are ∂L/∂W, ∂L/∂bias and ∂L/∂rows "
                "of out = W · rowsᵀ + bias? And where does the gradient of one row go in the image?",
                "With G = g laid out as W · rowsᵀ, (out_channels, oh·ow·batch), and W = weight reshaped to "
                "(out_channels, c·kh·kw): ∂L/∂W = G · rows (reshape to weight's shape), ∂L/∂bias = G summed over "
                "the positions, ∂L/∂rows = Gᵀ · W = (Wᵀ · G)ᵀ; compute each only where ctx.needs_input_grad asks for it. "
                "col2im undoes im2col's layout: oh and ow are those of the padded image; split the rows' gradient "
                "back into its axes and reorder them to windows (batch, c, oh, ow, kh, kw), add them back onto "
                "an image of the padded shape with add_windows_back (overlaps add up), then cut the padding off.",
                "backward: `out_channels = weight.shape[0]`, "
                "`weight_matrix = weight.reshape(out_channels, -1)`, "
                "`grad_out = grad.transpose(1, 2, 3, 0).reshape(out_channels, -1)`; each only `if needs_weight:` "
                "(and so on): "
                "`(ctx.rows.T @ grad_out.T).T.reshape(weight.shape)` (G · rows, computed the other way round, which "
                "OpenBLAS does faster), `grad_out.sum(axis=1)`, "
                "`grad_rows = (weight_matrix.T @ grad_out).T` and "
                "`col2im(grad_rows, ctx.x_shape, weight.shape[2:], ctx.stride, ctx.padding)`; col2im: "
                "`batch, channels, height, width = image_shape`, `(kernel_h, kernel_w), (ph, pw) = kernel_size, "
                "padding`, `padded_shape = (batch, channels, height + 2 * ph, width + 2 * pw)`, "
                "`out_h, out_w = output_size(padded_shape[2:], kernel_size, stride)`, "
                "`columns = grad_rows.T.reshape(channels, kernel_h, kernel_w, out_h, out_w, batch)`, "
                "`window_grads = columns.transpose(5, 0, 3, 4, 1, 2)`, then "
                "`unpad(add_windows_back(window_grads, padded_shape, stride), padding)`."),
         slide="Go ahead: convolutions", optional=True),
    Task("8.3", "Max pooling backward", ("nn/pool.py:MaxPooling.backward",),
         goal="From grad = ∂L/∂out (batch, c, oh, ow) return ∂L/∂x (batch, c, h, w): each window's gradient "
              "goes whole to the element that won it (ctx.winner marks it), 0 to the others; an element that "
              "wins several overlapping windows receives their sum.",
         hints=("The maximum of a window only depends on its winner: what is ∂out/∂x for the winner, and for "
                "the others?",
                "∂max/∂x is 1 at the winner and 0 elsewhere, so the window gradient is grad times the winner "
                "mask (kh·kw, batch, c, oh, ow). Its window axis comes first: split it into (kh, kw) and move "
                "those two axes last, to windows (batch, c, oh, ow, kh, kw); then add the windows back onto an "
                "image of x's shape with add_windows_back.",
                "`window_grads = ctx.winner * grad`, then "
                "`window_grads.reshape(kernel_h, kernel_w, *grad.shape).transpose(2, 3, 4, 5, 0, 1)`, and "
                "`return add_windows_back(window_grads, ctx.x_shape, ctx.stride)`."),
         slide="Go ahead: convolutions", optional=True),
    Task("8.4", "Log-softmax", ("act/functions.py:LogSoftmax.forward", "act/functions.py:LogSoftmax.backward"),
         goal="forward: log_softmax(x)ᵢ = xᵢ − log Σⱼ eˣʲ along axis, computed stably: with m = max x along axis, "
              "xᵢ − m − log Σⱼ e^(xⱼ − m) (every exponent ≤ 0 and the sum ≥ 1, so nothing overflows and the log "
              "never sees 0). backward: with s = softmax(x) = e^out and g = grad, ∂L/∂xᵢ = gᵢ − sᵢ Σⱼ gⱼ, the sum "
              "along axis.",
         hints=("Why does log(softmax(x)) fail for x = [0, −10⁴], and what does subtracting the maximum change "
                "in log Σ eˣ? Which value of forward gives softmax(x) back in backward?",
                "log Σⱼ e^(xⱼ) = m + log Σⱼ e^(xⱼ − m) for any m; with m = max x along axis (keepdims=True, so "
                "it broadcasts) every exponent is ≤ 0 and the sum is at least 1. So out = (x − m) − log Σ e^(x − m), "
                "the sum along axis with keepdims. Keep out and axis on ctx: softmax(x) = e^out. backward: "
                "∂outᵢ/∂xₖ = δᵢₖ − sₖ, so ∂L/∂xₖ = gₖ − sₖ Σᵢ gᵢ: sum grad along axis (keepdims), multiply by s, "
                "subtract from grad.",
                "forward: `shifted = x - x.max(axis=axis, keepdims=True)`, "
                "`out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))`, "
                "`ctx.out, ctx.axis = out, axis`, `return out`; backward: "
                "`return grad - np.exp(ctx.out) * grad.sum(axis=ctx.axis, keepdims=True)`."),
         slide="Go ahead: log-softmax", optional=True),
)

TASKS_BY_ID = {task.id: task for task in TASKS}
TASKS_BY_MARKER = {task.marker: task for task in TASKS}

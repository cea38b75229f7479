/* irgen.torch's rsample and log_prob as native autograd nodes: the common case of a call
   made in C++ from end to end.

A draw with its gradient in a training step is a small call, and there a Python
autograd.Function costs several times the kernel: its forward and its backward are each a
Python call with the arguments packed and unpacked on the way. These nodes do the same
work in C++. The forward allocates the results and calls the kernel's packed entry point
(abi.packed_cdecl) on the tensors' memory; the backward multiplies the incoming gradients
by the derivatives that kernel computed and sums each product to its parameter's shape:

    RSampleBackward         z; dz/dtheta (functions.RSample)
    RSampleLogProbBackward  z and log q(z); dz/dtheta, d log q/dz, d log q/dtheta
                            (functions.RSampleLogProb)
    SimplexRSampleBackward  z ~ Dirichlet(alpha); v (g - sum(g z)) per row
                            (functions.SimplexRSample)
    LogProbBackward         log q(x | theta); its scores, from log_prob_grad (functions.LogProb)
    SimplexLogProbBackward  the Dirichlet's log q; digammas (functions.SimplexLogProb)

Only the common case comes here: CPU tensors of one float dtype (a parameter that is not a
single value and not contiguous in the draws' shape is copied so, as the Python path
copies it). rsample() returns None for anything else, and the Python Functions take the
call. As those Functions, the nodes have no second derivative: a graph built through their
backward pass (create_graph) carries an error node that is raised if it is differentiated
again, as torch's once_differentiable does. */
#include <ATen/ATen.h>
#include <ATen/ExpandUtils.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/functions/basic_ops.h>
#include <torch/csrc/utils/pybind.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace irgen {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

typedef void (*packed_fn)(int64_t, const uint64_t*, void* const*, const int64_t*);
/* a simplex's row sampler: (n, row, seed, offset, alpha, its stride, z, v) */
typedef void (*rows_fn)(int64_t, int64_t, uint64_t, int64_t, const void*, int64_t, void*, void*);
/* a simplex's row log density: (n, row, x, its stride, alpha, its stride, log q) */
typedef void (*rows_map_fn)(int64_t, int64_t, const void*, int64_t, const void*, int64_t, void*);

constexpr size_t MAX_PARAMS = 4;        // inputs and outputs (up to 3 + 3m) within 16
constexpr int64_t RELEASE_GIL_FROM = 1024;
constexpr size_t LEADING = 5;           // forward's arguments before the parameters
constexpr size_t SIMPLEX_LEADING = 3;
constexpr size_t MAP_LEADING = 2;

/* call() on n elements, without the GIL where the call is long enough to pay */
template <typename Call>
void unlocked(int64_t n, Call call)
{
    if (n >= RELEASE_GIL_FROM) {
        pybind11::gil_scoped_release released;
        call();
    } else {
        call();
    }
}

/* one value, or one value broadcast (every stride 0, as broadcast_all leaves a number) */
bool single_value(const at::Tensor& t)
{
    if (t.numel() == 1) return true;
    for (int64_t k : t.strides())
        if (k != 0) return false;
    return true;
}

/* t as the kernel reads a whole array: contiguous in shape, copied so where it is not (as
   the Python path copies it) */
at::Tensor in_shape(const at::Tensor& t, const std::vector<int64_t>& shape)
{
    if (t.is_contiguous() && t.sizes() == at::IntArrayRef(shape)) return t;
    return t.expand(shape).contiguous();
}

/* The kernel on the parameters (each a single value, read at a stride of 0, or contiguous
   in shape) into the outputs (contiguous, rows of `rows` counted as outputs of their own),
   then the first output held inside [low, high] where a draw rounded to an end of the
   support. */
void run(uint64_t address, at::TensorList params, const std::vector<int64_t>& shape,
         uint64_t seed, const std::vector<at::Tensor>& outs, double low, double high)
{
    void* p[16];
    int64_t s[MAX_PARAMS];
    std::vector<at::Tensor> read;          // what the kernel reads (copies live through it)
    const size_t m = params.size();
    for (size_t i = 0; i < m; ++i) {
        const bool single = single_value(params[i]);
        read.push_back(single ? params[i] : in_shape(params[i], shape));
        s[i] = single ? 0 : 1;
        p[i] = read.back().data_ptr();
    }
    const at::Tensor& z = outs[0];
    const int64_t n = z.numel();
    size_t j = m;
    for (const auto& o : outs) {           // a tensor of rows: each row an output
        char* base = (char*)o.data_ptr();
        const int64_t rows = o.numel() / (n ? n : 1);
        for (int64_t r = 0; r < rows; ++r) p[j++] = base + r * n * (int64_t)o.element_size();
    }
    if (n == 0) return;
    const uint64_t words[2] = {seed, 0};   // the whole stream, from offset 0
    const bool held = low > -INFINITY || high < INFINITY;
    auto call = [&] {
        ((packed_fn)address)(n, words, p, s);
        if (!held) return;
        if (z.scalar_type() == at::kFloat) {
            const float lo = (float)low, hi = (float)high;
            float* v = (float*)p[m];
            for (int64_t i = 0; i < n; ++i) v[i] = v[i] < lo ? lo : v[i] > hi ? hi : v[i];
        } else {
            double* v = (double*)p[m];
            for (int64_t i = 0; i < n; ++i) v[i] = v[i] < low ? low : v[i] > high ? high : v[i];
        }
    };
    unlocked(n, call);
}

at::Tensor rows(int64_t count, const std::vector<int64_t>& shape, const at::TensorOptions& o)
{
    std::vector<int64_t> all{count};
    all.insert(all.end(), shape.begin(), shape.end());
    return at::empty(all, o);
}

/* each parameter's rank, then its sizes */
std::vector<int64_t> shapes_of(at::TensorList params)
{
    std::vector<int64_t> shapes;
    for (const auto& t : params) {
        shapes.push_back(t.dim());
        for (int64_t k : t.sizes()) shapes.push_back(k);
    }
    return shapes;
}

/* grads for forward's arguments: none for the `leading` ones; for parameter i that needs
   one, term(i) summed to its shape. what: the call, for the error a second derivative
   raises. */
template <typename Term>
variable_list reduce(AutogradContext* ctx, const char* what, size_t leading, size_t m,
                     Term term)
{
    const std::vector<int64_t> shapes = ctx->saved_data["shapes"].toIntVector();
    variable_list out(leading + m);
    const bool graph = at::GradMode::is_enabled();
    {
        at::NoGradGuard no_grad;
        size_t k = 0;
        for (size_t i = 0; i < m; ++i) {
            const int64_t rank = shapes[k++];
            const at::IntArrayRef shape(shapes.data() + k, (size_t)rank);
            k += (size_t)rank;
            if (ctx->needs_input_grad(i)) {
                at::Tensor g = term(i);
                if (g.defined()) out[leading + i] = at::sum_to(g, shape);
            }
        }
    }
    if (!graph) return out;
    // create_graph: the results come out of a node that raises if it is reached
    variable_list fake;
    for (size_t i = leading; i < out.size(); ++i) {
        if (!out[i].defined()) continue;
        at::Tensor t = out[i].detach();
        t.set_requires_grad(true);
        fake.push_back(t);
    }
    torch::autograd::DelayedError error(
        std::string("trying to differentiate twice irgen's ") + what
            + ", whose gradient is a first derivative only", (int64_t)fake.size());
    variable_list wrapped = error.apply(std::move(fake));
    for (size_t i = leading, j = 0; i < out.size(); ++i)
        if (out[i].defined()) out[i] = wrapped[j++];
    return out;
}

/* its node's name in a graph: CppNode<irgen::RSampleBackward> */
struct RSampleBackward : public torch::autograd::Function<RSampleBackward> {
    static at::Tensor forward(AutogradContext* ctx, uint64_t address,
                              const std::vector<int64_t>& shape, uint64_t seed, double low,
                              double high, at::TensorList params)
    {
        const auto options = params[0].options();
        at::Tensor z = at::empty(shape, options);
        at::Tensor dz = rows((int64_t)params.size(), shape, options);
        run(address, params, shape, seed, {z, dz}, low, high);
        ctx->saved_data["dz"] = dz;
        ctx->saved_data["shapes"] = shapes_of(params);
        return z;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const at::Tensor dz = ctx->saved_data["dz"].toTensor();
        const at::Tensor& g = grads[0];
        const size_t m = (size_t)dz.size(0);
        if (!g.defined()) return variable_list(LEADING + m);
        return reduce(ctx, "rsample", LEADING, m, [&](size_t i) { return g * dz[(int64_t)i]; });
    }
};

/* z and log q(z) from one kernel call; log q is a function of theta alone, its gradient the
   total one (d log q/dtheta + d log q/dz dz/dtheta). Rows of `rest`: dz/dtheta (m), then
   d log q/dz, then d log q/dtheta (m). */
struct RSampleLogProbBackward : public torch::autograd::Function<RSampleLogProbBackward> {
    static variable_list forward(AutogradContext* ctx, uint64_t address,
                                 const std::vector<int64_t>& shape, uint64_t seed, double low,
                                 double high, at::TensorList params)
    {
        const int64_t m = (int64_t)params.size();
        const auto options = params[0].options();
        at::Tensor z = at::empty(shape, options);
        at::Tensor dz = rows(m, shape, options);
        at::Tensor lq = at::empty(shape, options);
        at::Tensor rest = rows(m + 1, shape, options);
        // the kernel holds its own draws inside the support
        run(address, params, shape, seed, {z, dz, lq, rest}, -INFINITY, INFINITY);
        ctx->set_materialize_grads(false);
        ctx->saved_data["dz"] = dz;
        ctx->saved_data["rest"] = rest;
        ctx->saved_data["shapes"] = shapes_of(params);
        return {z, lq};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const at::Tensor dz = ctx->saved_data["dz"].toTensor();
        const at::Tensor rest = ctx->saved_data["rest"].toTensor();
        const size_t m = (size_t)dz.size(0);
        at::Tensor gz = grads[0];
        const at::Tensor& gl = grads[1];
        if (!gz.defined() && !gl.defined()) return variable_list(LEADING + m);
        if (gl.defined()) {                 // the loss reaches z also through log q
            at::NoGradGuard no_grad;
            gz = gz.defined() ? at::addcmul(gz, gl, rest[0]) : gl * rest[0];
        }
        return reduce(ctx, "rsample", LEADING, m, [&](size_t i) {
            const at::Tensor d = dz[(int64_t)i];
            return gl.defined() ? at::addcmul(gl * rest[1 + (int64_t)i], gz, d) : gz * d;
        });
    }
};

/* z ~ Dirichlet(alpha) by a row kernel (rows of the last axis), with v = dz_j/dalpha_j's
   factor; the backward pass is the vector-Jacobian product v (g - sum(g z)) per row
   (functions.SimplexRSample). */
struct SimplexRSampleBackward : public torch::autograd::Function<SimplexRSampleBackward> {
    static at::Tensor forward(AutogradContext* ctx, uint64_t address,
                              const std::vector<int64_t>& shape, uint64_t seed,
                              const at::Tensor& alpha)
    {
        const at::Tensor a = in_shape(alpha, shape);      // every row read whole
        at::Tensor z = at::empty(shape, a.options());
        at::Tensor v = at::empty(shape, a.options());
        const int64_t n = z.numel();
        if (n > 0) {
            auto call = [&] {
                ((rows_fn)address)(n, shape.back(), seed, 0, a.data_ptr(), 1, z.data_ptr(),
                                   v.data_ptr());
            };
            unlocked(n, call);
        }
        ctx->saved_data["z"] = z;
        ctx->saved_data["v"] = v;
        ctx->saved_data["shapes"] = shapes_of(at::TensorList(alpha));
        return z;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const at::Tensor& g = grads[0];
        if (!g.defined()) return variable_list(SIMPLEX_LEADING + 1);
        const at::Tensor z = ctx->saved_data["z"].toTensor();
        const at::Tensor v = ctx->saved_data["v"].toTensor();
        return reduce(ctx, "rsample", SIMPLEX_LEADING, 1, [&](size_t) {
            return v * (g - (g * z).sum(-1, true));
        });
    }
};

/* log q(x | theta) with its gradients in x and theta from one call of log_prob_grad, whose
   outputs are log q and d log q/d(each input) (functions.LogProb) */
struct LogProbBackward : public torch::autograd::Function<LogProbBackward> {
    static at::Tensor forward(AutogradContext* ctx, uint64_t address,
                              const std::vector<int64_t>& shape, at::TensorList inputs)
    {
        const auto options = inputs[0].options();
        at::Tensor lq = at::empty(shape, options);
        at::Tensor scores = rows((int64_t)inputs.size(), shape, options);
        run(address, inputs, shape, 0, {lq, scores}, -INFINITY, INFINITY);
        ctx->saved_data["scores"] = scores;
        ctx->saved_data["shapes"] = shapes_of(inputs);
        return lq;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const at::Tensor scores = ctx->saved_data["scores"].toTensor();
        const at::Tensor& g = grads[0];
        const size_t k = (size_t)scores.size(0);
        if (!g.defined()) return variable_list(MAP_LEADING + k);
        return reduce(ctx, "log_prob", MAP_LEADING, k,
                      [&](size_t i) { return g * scores[(int64_t)i]; });
    }
};

/* The Dirichlet's log density of rows x; its gradients in closed form (digammas):
   d/dx_j = (alpha_j - 1) / x_j, d/dalpha_j = log x_j - psi(alpha_j) + psi(sum alpha)
   (functions.SimplexLogProb) */
struct SimplexLogProbBackward : public torch::autograd::Function<SimplexLogProbBackward> {
    static at::Tensor forward(AutogradContext* ctx, uint64_t address,
                              const std::vector<int64_t>& shape, const at::Tensor& x,
                              const at::Tensor& alpha)
    {
        const at::Tensor xs = in_shape(x, shape), as = in_shape(alpha, shape);  // whole rows
        const std::vector<int64_t> batch(shape.begin(), shape.end() - 1);
        at::Tensor lq = at::empty(batch, xs.options());
        const int64_t n = xs.numel();
        if (n > 0) {
            auto call = [&] {
                ((rows_map_fn)address)(n, shape.back(), xs.data_ptr(), 1, as.data_ptr(), 1,
                                       lq.data_ptr());
            };
            unlocked(n, call);
        }
        ctx->save_for_backward({x, alpha});
        ctx->saved_data["shapes"] = shapes_of({x, alpha});
        return lq;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        if (!grads[0].defined()) return variable_list(MAP_LEADING + 2);
        const at::Tensor g = grads[0].unsqueeze(-1);
        const variable_list saved = ctx->get_saved_variables();
        const at::Tensor& x = saved[0];
        const at::Tensor& alpha = saved[1];
        return reduce(ctx, "log_prob", MAP_LEADING, 2, [&](size_t i) {
            if (i == 0) return g * (alpha - 1) / x;
            return g * (at::log(x) - at::digamma(alpha)
                        + at::digamma(alpha.sum(-1, true)));
        });
    }
};

/* The common case, or false: CPU tensors of one float dtype that broadcast to shape. */
bool common(const std::vector<at::Tensor>& params, const std::vector<int64_t>& shape)
{
    if (params.empty() || params.size() > MAX_PARAMS) return false;
    const auto dtype = params[0].scalar_type();
    if (dtype != at::kFloat && dtype != at::kDouble) return false;
    for (const auto& t : params) {
        if (!t.defined() || t.scalar_type() != dtype || !t.device().is_cpu() || t.is_conj()
            || t.is_neg() || !at::is_expandable_to(t.sizes(), shape))
            return false;
    }
    return true;
}

/* rsample(f64, f32, shape, seed, low, high, params, log_prob): the draws (with log_prob,
   the draws and their log density), their node attached, or None where the call is not
   the common case. f64 and f32: the packed entry points' addresses; low and high: the
   support's ends to hold the draws in (+-inf: none). */
pybind11::object rsample(uint64_t f64, uint64_t f32, const std::vector<int64_t>& shape,
                         uint64_t seed, double low, double high,
                         const std::vector<at::Tensor>& params, bool log_prob)
{
    if (!common(params, shape)) return pybind11::none();
    const uint64_t address = params[0].scalar_type() == at::kFloat ? f32 : f64;
    if (log_prob) {
        variable_list out = RSampleLogProbBackward::apply(address, shape, seed, low, high,
                                                          at::TensorList(params));
        return pybind11::make_tuple(out[0], out[1]);
    }
    return pybind11::cast(RSampleBackward::apply(address, shape, seed, low, high,
                                                 at::TensorList(params)));
}

/* simplex_rsample(f64, f32, shape, seed, alpha): Dirichlet draws of shape (batch and row),
   their node attached, or None where the call is not the common case (a CPU tensor of a
   float dtype that broadcasts to shape, rows of at least 2). f64 and f32: the row
   sampler's addresses. */
pybind11::object simplex_rsample(uint64_t f64, uint64_t f32, const std::vector<int64_t>& shape,
                                 uint64_t seed, const at::Tensor& alpha)
{
    if (shape.empty() || shape.back() < 2 || !common({alpha}, shape))
        return pybind11::none();
    const uint64_t address = alpha.scalar_type() == at::kFloat ? f32 : f64;
    return pybind11::cast(SimplexRSampleBackward::apply(address, shape, seed, alpha));
}

/* the shape the inputs broadcast to, or false */
bool broadcast(const std::vector<at::Tensor>& inputs, std::vector<int64_t>& shape)
{
    try {
        at::DimVector b(inputs[0].sizes().begin(), inputs[0].sizes().end());
        for (size_t i = 1; i < inputs.size(); ++i) b = at::infer_size_dimvector(b, inputs[i].sizes());
        shape.assign(b.begin(), b.end());
    } catch (const c10::Error&) {
        return false;
    }
    return true;
}

/* log_prob(f64, f32, inputs): log q of (x, params...) with its node attached, from the
   log_prob_grad kernel at f64 / f32, or None where the call is not the common case */
pybind11::object log_prob(uint64_t f64, uint64_t f32, const std::vector<at::Tensor>& inputs)
{
    std::vector<int64_t> shape;
    if (inputs.empty() || inputs.size() > MAX_PARAMS || !broadcast(inputs, shape)
        || !common(inputs, shape))
        return pybind11::none();
    const uint64_t address = inputs[0].scalar_type() == at::kFloat ? f32 : f64;
    return pybind11::cast(LogProbBackward::apply(address, shape, at::TensorList(inputs)));
}

/* simplex_log_prob(f64, f32, x, alpha): the Dirichlet's log density of rows x, its node
   attached, or None where the call is not the common case */
pybind11::object simplex_log_prob(uint64_t f64, uint64_t f32, const at::Tensor& x,
                                  const at::Tensor& alpha)
{
    std::vector<int64_t> shape;
    if (!broadcast({x, alpha}, shape) || shape.empty() || shape.back() < 2
        || !common({x, alpha}, shape))
        return pybind11::none();
    const uint64_t address = x.scalar_type() == at::kFloat ? f32 : f64;
    return pybind11::cast(SimplexLogProbBackward::apply(address, shape, x, alpha));
}

}  // namespace irgen

PYBIND11_MODULE(IRGEN_NATIVE_NAME, m)
{
    m.doc() = "irgen.torch's native autograd nodes";
    m.def("rsample", &irgen::rsample, "draws with a native autograd node, or None");
    m.def("simplex_rsample", &irgen::simplex_rsample,
          "Dirichlet draws with a native autograd node, or None");
    m.def("log_prob", &irgen::log_prob, "log q with a native autograd node, or None");
    m.def("simplex_log_prob", &irgen::simplex_log_prob,
          "the Dirichlet's log q with a native autograd node, or None");
}

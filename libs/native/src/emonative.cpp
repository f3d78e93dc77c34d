// emonative: the whole training step of a registry net on the CPU, in C++ on oneDNN 2.6 (Debian's
// libdnnl-dev). Convolutions run on oneDNN; batch-norm, ReLU, pooling, dropout, global average
// pooling, dense layers (oneDNN's sgemm), softmax cross-entropy and Adam are plain loops over NHWC
// buffers. Every buffer is allocated once per batch size and reused: no allocation per step.
//
// The net comes from a text spec built by the TypeScript side from the tfjs layers config, one
// layer per line:
//   conv <filters> <kernel> <stride> <same|valid> <bias 0|1>
//   dwconv <multiplier> <kernel> <stride> <same|valid> <bias 0|1>   (depthwise)
//   bn <momentum> <epsilon>
//   relu
//   maxpool <size> <stride>          (valid padding)
//   dropout <rate>
//   gap
//   dense <units>
//   posemb                           (adds a learned [H, W, C] embedding)
//   tblock <heads> <mlp> <epsilon>   (pre-norm transformer block over the H x W positions)
//   softmax                          (last layer only)
// Parameters are held in tfjs' layouts and order (conv kernel HWIO, depthwise kernel [k, k, C,
// multiplier], dense kernel [in, out]; a
// batch-norm layer has gamma, beta, moving mean, moving variance), so weights cross unchanged.
// The C ABI is called from Node through koffi (see ../src/binding.ts).

#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

// 64-byte aligned float buffer, zero-filled and touched once at allocation.
struct Buf {
  float* p = nullptr;
  size_t n = 0;
  Buf() = default;
  explicit Buf(size_t count) { alloc(count); }
  void alloc(size_t count) {
    free(p);
    n = count;
    size_t bytes = ((std::max<size_t>(count, 1) * sizeof(float) + 63) / 64) * 64;
    p = static_cast<float*>(aligned_alloc(64, bytes));
    if (!p) throw std::runtime_error("out of memory");
    memset(p, 0, bytes);
  }
  ~Buf() { free(p); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  Buf(Buf&& o) noexcept : p(o.p), n(o.n) { o.p = nullptr, o.n = 0; }
  Buf& operator=(Buf&& o) noexcept {
    std::swap(p, o.p);
    std::swap(n, o.n);
    return *this;
  }
};

enum class Op { Conv, BN, Relu, MaxPool, Dropout, Gap, Dense, Softmax, PosEmb, TBlock };

struct Param {
  std::string role;
  Buf w, g, m, v;
  bool trainable = true;
};

struct ConvPlan {
  bool bf16 = false;  // src, diff_dst and weights in bfloat16 (f32 outputs and gradients)
  std::unique_ptr<reorder> src_to16, ddst_to16;  // f32 activations → the bf16 copies
  memory src32, diff_dst32;                      // the f32 activations behind them
  std::unique_ptr<convolution_forward> fwd;
  std::unique_ptr<convolution_backward_data> bwd_data;
  std::unique_ptr<convolution_backward_weights> bwd_w;
  memory src, dst, diff_dst, diff_src;
  memory w_user, w_fwd, w_bwd, dw_user, dw_prim;
  bool reorder_fwd = false, reorder_bwd = false, reorder_dw = false;
};

struct Layer {
  Op op;
  int H, W, C;     // input
  int OH, OW, OC;  // output
  int k = 0, stride = 1, pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  int groups = 1;  // convolution: C for a depthwise one (each input channel its own filters)
  bool bias = false;
  bool fuse_relu = false;  // batch-norm: the next layer is a ReLU computed in the same pass
  bool fused = false;      // ReLU: computed by the batch-norm before it
  float momentum = 0.99f, eps = 1e-3f, rate = 0.f;
  std::vector<int> params;  // indices into Net::params, tfjs order
  Buf out, dout;            // output activations and their gradient (batch_max rows)
  Buf src16, dout16;        // bf16 convolutions: bf16 copies of the input and of dout
  Buf mean, invstd;         // batch-norm batch statistics
  std::vector<int32_t> argmax;  // max-pool: input index of each output's maximum
  Buf mask;                 // dropout: 0 or 1/keep per element
  std::map<int, ConvPlan> plans;  // convolution primitives per batch size
  int heads = 0, mlp = 0;           // transformer block
  std::vector<Buf> keep;            // transformer block: activations kept for the backward pass
  size_t in_size() const { return size_t(H) * W * C; }
  size_t out_size() const { return size_t(OH) * OW * OC; }
};

struct Net {
  engine eng{engine::kind::cpu, 0};
  stream strm{eng};
  int H, W, C, batch_max, classes = 0;
  int threads = 1;
  bool bf16 = false;  // convolutions after the first in bfloat16 (AVX512-BF16), accumulating in f32
  double step = 0;  // Adam steps taken
  float beta1 = 0.9f, beta2 = 0.999f, adam_eps = 1e-7f;  // tfjs Adam's defaults (epsilon: its float32 backend epsilon)
  std::vector<Layer> layers;
  std::vector<std::unique_ptr<Param>> params;
  bool profile = false;  // accumulate per-layer forward/backward milliseconds
  std::vector<double> fwd_ms, bwd_ms;
  Buf input;
  Buf probs;
  std::string error;
};

const float* in_of(Net& net, size_t li) { return li == 0 ? net.input.p : net.layers[li - 1].out.p; }

int add_param(Net& net, const std::string& role, size_t n, bool trainable) {
  auto p = std::make_unique<Param>();
  p->role = role;
  p->w.alloc(n);
  p->trainable = trainable;
  if (trainable) {
    p->g.alloc(n);
    p->m.alloc(n);
    p->v.alloc(n);
  }
  net.params.push_back(std::move(p));
  return int(net.params.size() - 1);
}

void build(Net& net, const std::string& spec) {
  std::istringstream lines(spec);
  std::string line;
  int H = net.H, W = net.W, C = net.C;
  while (std::getline(lines, line)) {
    std::istringstream ls(line);
    std::string kind;
    if (!(ls >> kind)) continue;
    if (!net.layers.empty() && net.layers.back().op == Op::Softmax) throw std::runtime_error("softmax must be the last layer");
    Layer L{};
    L.H = H, L.W = W, L.C = C, L.OH = H, L.OW = W, L.OC = C;
    if (kind == "conv" || kind == "dwconv") {
      // conv <filters> <k> <stride> <pad> <bias>; dwconv <multiplier> <k> <stride> <pad> <bias>
      std::string pad;
      int bias = 0;
      L.op = Op::Conv;
      if (!(ls >> L.OC >> L.k >> L.stride >> pad >> bias) || L.OC < 1 || L.k < 1 || L.stride < 1)
        throw std::runtime_error("bad " + kind + " line: " + line);
      if (kind == "dwconv") L.groups = C, L.OC *= C;
      if (pad == "same") {
        L.OH = (H + L.stride - 1) / L.stride;
        L.OW = (W + L.stride - 1) / L.stride;
        int th = std::max((L.OH - 1) * L.stride + L.k - H, 0), tw = std::max((L.OW - 1) * L.stride + L.k - W, 0);
        L.pad_t = th / 2, L.pad_b = th - th / 2, L.pad_l = tw / 2, L.pad_r = tw - tw / 2;
      } else if (pad == "valid") {
        L.OH = (H - L.k) / L.stride + 1;
        L.OW = (W - L.k) / L.stride + 1;
      } else {
        throw std::runtime_error("bad conv padding: " + pad);
      }
      L.bias = bias != 0;
      L.params.push_back(add_param(net, "kernel", size_t(L.k) * L.k * (C / L.groups) * L.OC, true));
      if (L.bias) L.params.push_back(add_param(net, "bias", L.OC, true));
    } else if (kind == "bn") {
      L.op = Op::BN;
      if (!(ls >> L.momentum >> L.eps)) throw std::runtime_error("bad bn line: " + line);
      L.params.push_back(add_param(net, "gamma", C, true));
      L.params.push_back(add_param(net, "beta", C, true));
      L.params.push_back(add_param(net, "moving_mean", C, false));
      L.params.push_back(add_param(net, "moving_variance", C, false));
      L.mean.alloc(C);
      L.invstd.alloc(C);
    } else if (kind == "relu") {
      L.op = Op::Relu;
    } else if (kind == "maxpool") {
      L.op = Op::MaxPool;
      if (!(ls >> L.k >> L.stride)) throw std::runtime_error("bad maxpool line: " + line);
      L.OH = (H - L.k) / L.stride + 1;
      L.OW = (W - L.k) / L.stride + 1;
    } else if (kind == "dropout") {
      L.op = Op::Dropout;
      if (!(ls >> L.rate) || L.rate < 0 || L.rate >= 1) throw std::runtime_error("bad dropout line: " + line);
    } else if (kind == "gap") {
      L.op = Op::Gap;
      L.OH = L.OW = 1;
    } else if (kind == "dense") {
      L.op = Op::Dense;
      if (H != 1 || W != 1) throw std::runtime_error("dense needs a flat input (use gap first)");
      if (!(ls >> L.OC)) throw std::runtime_error("bad dense line: " + line);
      L.params.push_back(add_param(net, "kernel", size_t(C) * L.OC, true));
      L.params.push_back(add_param(net, "bias", L.OC, true));
    } else if (kind == "posemb") {
      L.op = Op::PosEmb;
      L.params.push_back(add_param(net, "embedding", size_t(H) * W * C, true));
    } else if (kind == "tblock") {
      L.op = Op::TBlock;
      if (!(ls >> L.heads >> L.mlp >> L.eps) || L.heads < 1 || L.mlp < 1 || C % L.heads != 0)
        throw std::runtime_error("bad tblock line (heads must divide the channels): " + line);
      // tfjs' order: ln1 gamma, beta; qkv kernel, bias; proj kernel, bias; ln2 gamma, beta;
      // fc1 kernel, bias; fc2 kernel, bias.
      const size_t c = C, m = L.mlp;
      for (auto [role, n] : std::vector<std::pair<const char*, size_t>>{{"ln1_gamma", c}, {"ln1_beta", c}, {"qkv_kernel", c * 3 * c},
                                                                         {"qkv_bias", 3 * c}, {"proj_kernel", c * c}, {"proj_bias", c},
                                                                         {"ln2_gamma", c}, {"ln2_beta", c}, {"fc1_kernel", c * m},
                                                                         {"fc1_bias", m}, {"fc2_kernel", m * c}, {"fc2_bias", c}})
        L.params.push_back(add_param(net, role, n, true));
    } else if (kind == "softmax") {
      L.op = Op::Softmax;
      if (H != 1 || W != 1) throw std::runtime_error("softmax needs a flat input");
      net.classes = C;
    } else {
      throw std::runtime_error("unknown layer kind: " + kind);
    }
    if (L.OH < 1 || L.OW < 1 || L.OC < 1) throw std::runtime_error("layer output is empty: " + line);
    H = L.OH, W = L.OW, C = L.OC;
    net.layers.push_back(std::move(L));
  }
  if (net.layers.empty() || net.layers.back().op != Op::Softmax) throw std::runtime_error("the net must end in softmax");
  for (size_t i = 0; i + 1 < net.layers.size(); i++)
    if (net.layers[i].op == Op::BN && net.layers[i + 1].op == Op::Relu) net.layers[i].fuse_relu = net.layers[i + 1].fused = true;
  net.input.alloc(size_t(net.batch_max) * net.H * net.W * net.C);
  for (auto& L : net.layers) {
    size_t n = size_t(net.batch_max) * L.out_size();
    L.out.alloc(n);
    L.dout.alloc(n);
    if (L.op == Op::MaxPool) L.argmax.assign(n, 0);
    if (L.op == Op::Dropout) L.mask.alloc(n);
    if (L.op == Op::TBlock) {
      const size_t rows = size_t(net.batch_max) * L.H * L.W, T = size_t(L.H) * L.W;
      // Forward (kept for backward): xhat1, h1, qkv, att, o, x2, xhat2, h2, relu(u), 1/std of both norms.
      const size_t sizes[] = {rows * L.C, rows * L.C, rows * 3 * L.C, size_t(net.batch_max) * L.heads * T * T, rows * L.C,
                              rows * L.C, rows * L.C, rows * L.C, rows * L.mlp, rows, rows,
                              // backward: dx2, dh, dr, do, dqkv
                              rows * L.C, rows * L.C, rows * L.mlp, rows * L.C, rows * 3 * L.C};
      for (size_t sz : sizes) L.keep.emplace_back(sz);
    }
  }
  net.probs.alloc(size_t(net.batch_max) * net.classes);
}

ConvPlan& conv_plan(Net& net, size_t li, int n) {
  Layer& L = net.layers[li];
  auto it = L.plans.find(n);
  if (it != L.plans.end()) return it->second;
  ConvPlan& P = L.plans[n];
  // The first convolution (one input channel) stays in f32: it is cheap, and bf16 kernels want
  // channels in multiples of 16.
  P.bf16 = net.bf16 && li > 0 && L.C % 16 == 0 && L.groups == 1;
  const dt a = P.bf16 ? dt::bf16 : dt::f32;
  memory::dims strides{L.stride, L.stride}, pl{L.pad_t, L.pad_l}, pr{L.pad_b, L.pad_r};
  memory::desc src32_md({n, L.C, L.H, L.W}, dt::f32, tag::nhwc), src_md({n, L.C, L.H, L.W}, a, tag::nhwc);
  memory::desc dst_md({n, L.OC, L.OH, L.OW}, dt::f32, tag::nhwc), ddst_md({n, L.OC, L.OH, L.OW}, a, tag::nhwc);
  // Weights in tfjs' layouts: [k, k, C, OC] (hwio), or [k, k, C, multiplier] for a depthwise
  // convolution, which is oneDNN's grouped [G=C, OC/G, 1, k, k] stored as hwigo.
  const int G = L.groups;
  const memory::dims wdims = G == 1 ? memory::dims{L.OC, L.C, L.k, L.k} : memory::dims{G, L.OC / G, L.C / G, L.k, L.k};
  memory::desc w_user_md(wdims, dt::f32, G == 1 ? tag::hwio : tag::hwigo);
  memory::desc w_any(wdims, a, tag::any), dw_any(wdims, dt::f32, tag::any);
  auto fd = convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src_md, w_any, dst_md, strides, pl, pr);
  auto fpd = convolution_forward::primitive_desc(fd, net.eng);
  P.fwd = std::make_unique<convolution_forward>(fpd);
  Param& kp = *net.params[L.params[0]];
  P.src32 = memory(src32_md, net.eng, const_cast<float*>(in_of(net, li)));
  P.diff_dst32 = memory(dst_md, net.eng, L.dout.p);
  if (P.bf16) {
    if (!L.src16.p) {
      size_t in = size_t(net.batch_max) * L.in_size(), out = size_t(net.batch_max) * L.out_size();
      L.src16.alloc((in + 1) / 2);
      L.dout16.alloc((out + 1) / 2);
    }
    P.src = memory(src_md, net.eng, L.src16.p);
    P.diff_dst = memory(ddst_md, net.eng, L.dout16.p);
    P.src_to16 = std::make_unique<reorder>(P.src32, P.src);
    P.ddst_to16 = std::make_unique<reorder>(P.diff_dst32, P.diff_dst);
  } else {
    P.src = P.src32;
    P.diff_dst = P.diff_dst32;
  }
  P.dst = memory(dst_md, net.eng, L.out.p);
  P.w_user = memory(w_user_md, net.eng, kp.w.p);
  P.dw_user = memory(w_user_md, net.eng, kp.g.p);
  P.reorder_fwd = fpd.weights_desc() != w_user_md;
  P.w_fwd = P.reorder_fwd ? memory(fpd.weights_desc(), net.eng) : P.w_user;
  if (li > 0) {
    auto bd = convolution_backward_data::desc(algorithm::convolution_direct, src32_md, w_any, ddst_md, strides, pl, pr);
    auto bpd = convolution_backward_data::primitive_desc(bd, net.eng, fpd);
    P.bwd_data = std::make_unique<convolution_backward_data>(bpd);
    P.diff_src = memory(src32_md, net.eng, net.layers[li - 1].dout.p);
    P.reorder_bwd = bpd.weights_desc() != w_user_md;
    P.w_bwd = !P.reorder_bwd ? P.w_user : bpd.weights_desc() == fpd.weights_desc() ? P.w_fwd : memory(bpd.weights_desc(), net.eng);
  }
  auto wd = convolution_backward_weights::desc(algorithm::convolution_direct, src_md, dw_any, ddst_md, strides, pl, pr);
  auto wpd = convolution_backward_weights::primitive_desc(wd, net.eng, fpd);
  P.bwd_w = std::make_unique<convolution_backward_weights>(wpd);
  P.reorder_dw = wpd.diff_weights_desc() != w_user_md;
  P.dw_prim = P.reorder_dw ? memory(wpd.diff_weights_desc(), net.eng) : P.dw_user;
  return P;
}

// Per-channel sums over rows of an [M, C] matrix, in double, split across threads.
void channel_sums(const float* x, size_t M, int C, const float* sub, double* out) {
  int T = omp_get_max_threads();
  std::vector<double> part(size_t(T) * C, 0.0);
#pragma omp parallel
  {
    double* acc = part.data() + size_t(omp_get_thread_num()) * C;
    std::vector<float> row(C, 0.f);
#pragma omp for schedule(static)
    for (size_t blk = 0; blk < (M + 63) / 64; blk++) {
      std::fill(row.begin(), row.end(), 0.f);
      size_t end = std::min(M, (blk + 1) * 64);
      for (size_t i = blk * 64; i < end; i++) {
        const float* xi = x + i * C;
        if (sub) {
          for (int c = 0; c < C; c++) {
            float d = xi[c] - sub[c];
            row[c] += d * d;
          }
        } else {
          for (int c = 0; c < C; c++) row[c] += xi[c];
        }
      }
      for (int c = 0; c < C; c++) acc[c] += row[c];
    }
  }
  for (int c = 0; c < C; c++) {
    double s = 0;
    for (int t = 0; t < T; t++) s += part[size_t(t) * C + c];
    out[c] = s;
  }
}

inline double now_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Adds the milliseconds of its scope to *acc (when profiling; acc null otherwise).
struct LayerTimer {
  double* acc;
  double t0;
  explicit LayerTimer(double* a) : acc(a), t0(a ? now_ms() : 0) {}
  ~LayerTimer() {
    if (acc) *acc += now_ms() - t0;
  }
};


inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}


// ---- Transformer block (see libs/model/src/transformer.ts): tokens are the H x W positions ----
enum TKeep { kXhat1, kH1, kQkv, kAtt, kO, kX2, kXhat2, kH2, kR, kRstd1, kRstd2, kDx2, kDh, kDr, kDo, kDqkv };

// Row-major C[M,N] = op(A)·op(B) + beta·C (oneDNN's sgemm).
inline void gemm(char ta, char tb, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  dnnl::sgemm(ta, tb, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
}

void layer_norm_fwd(const float* x, size_t rows, int C, float eps, const float* g, const float* b, float* xhat, float* rstd, float* y) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < rows; i++) {
    const float* xi = x + i * C;
    double mu = 0, var = 0;
    for (int c = 0; c < C; c++) mu += xi[c];
    mu /= C;
    for (int c = 0; c < C; c++) var += (xi[c] - mu) * (xi[c] - mu);
    const float r = float(1.0 / std::sqrt(var / C + eps));
    rstd[i] = r;
    for (int c = 0; c < C; c++) {
      const float xh = float(xi[c] - mu) * r;
      xhat[i * C + c] = xh;
      y[i * C + c] = xh * g[c] + b[c];
    }
  }
}

// dx = (1/std)·(dxhat - mean(dxhat) - xhat·mean(dxhat·xhat)), dxhat = dy·g; dg, db summed over rows.
void layer_norm_bwd(const float* dy, const float* xhat, const float* rstd, size_t rows, int C, const float* g, float* dx, float* dg, float* db) {
  std::vector<double> sg(C, 0.0), sb(C, 0.0);
  for (size_t i = 0; i < rows; i++)
    for (int c = 0; c < C; c++) sg[c] += dy[i * C + c] * xhat[i * C + c], sb[c] += dy[i * C + c];
  for (int c = 0; c < C; c++) dg[c] = float(sg[c]), db[c] = float(sb[c]);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < rows; i++) {
    double m1 = 0, m2 = 0;
    for (int c = 0; c < C; c++) {
      const float d = dy[i * C + c] * g[c];
      m1 += d;
      m2 += d * xhat[i * C + c];
    }
    const float a = float(m1 / C), bb = float(m2 / C);
    for (int c = 0; c < C; c++) dx[i * C + c] = rstd[i] * (dy[i * C + c] * g[c] - a - xhat[i * C + c] * bb);
  }
}

void column_sums(const float* x, size_t rows, int C, float* out) {
  std::vector<double> s(C);
  channel_sums(x, rows, C, nullptr, s.data());
  for (int c = 0; c < C; c++) out[c] = float(s[c]);
}

void tblock_forward(Net& net, Layer& L, const float* x, float* y, int n) {
  const int C = L.C, T = L.H * L.W, Hh = L.heads, d = C / Hh, M = L.mlp;
  const size_t rows = size_t(n) * T;
  const int R = int(rows);
  auto P = [&](int i) { return net.params[L.params[i]]->w.p; };
  float* xhat1 = L.keep[kXhat1].p; float* h1 = L.keep[kH1].p; float* qkv = L.keep[kQkv].p; float* att = L.keep[kAtt].p;
  float* o = L.keep[kO].p; float* x2 = L.keep[kX2].p; float* xhat2 = L.keep[kXhat2].p; float* h2 = L.keep[kH2].p;
  float* r = L.keep[kR].p;
  layer_norm_fwd(x, rows, C, L.eps, P(0), P(1), xhat1, L.keep[kRstd1].p, h1);
  for (size_t i = 0; i < rows; i++) memcpy(qkv + i * 3 * C, P(3), 3 * C * sizeof(float));
  gemm('N', 'N', R, 3 * C, C, h1, C, P(2), 3 * C, 1.f, qkv, 3 * C);
  const float scale = 1.f / std::sqrt(float(d));
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int hd = 0; hd < Hh; hd++) {
      const float* base = qkv + size_t(b) * T * 3 * C;
      float* A = att + (size_t(b) * Hh + hd) * T * T;
      for (int i = 0; i < T; i++) {
        const float* q = base + size_t(i) * 3 * C + hd * d;
        float mx = -1e30f;
        for (int j = 0; j < T; j++) {
          const float* k = base + size_t(j) * 3 * C + C + hd * d;
          float acc = 0;
          for (int e = 0; e < d; e++) acc += q[e] * k[e];
          A[i * T + j] = acc * scale;
          mx = std::max(mx, A[i * T + j]);
        }
        double sum = 0;
        for (int j = 0; j < T; j++) sum += (A[i * T + j] = std::exp(A[i * T + j] - mx));
        const float inv = float(1.0 / sum);
        float* oi = o + (size_t(b) * T + i) * C + hd * d;
        for (int e = 0; e < d; e++) oi[e] = 0.f;
        for (int j = 0; j < T; j++) {
          const float a = (A[i * T + j] *= inv);
          const float* v = base + size_t(j) * 3 * C + 2 * C + hd * d;
          for (int e = 0; e < d; e++) oi[e] += a * v[e];
        }
      }
    }
  // x2 = x + o·Wo + bo
  for (size_t i = 0; i < rows; i++)
    for (int c = 0; c < C; c++) x2[i * C + c] = x[i * C + c] + P(5)[c];
  gemm('N', 'N', R, C, C, o, C, P(4), C, 1.f, x2, C);
  layer_norm_fwd(x2, rows, C, L.eps, P(6), P(7), xhat2, L.keep[kRstd2].p, h2);
  for (size_t i = 0; i < rows; i++) memcpy(r + i * M, P(9), M * sizeof(float));
  gemm('N', 'N', R, M, C, h2, C, P(8), M, 1.f, r, M);
  const size_t ru = rows * M;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < ru; i++) r[i] = r[i] > 0.f ? r[i] : 0.f;
  // y = x2 + r·W2 + b2
  for (size_t i = 0; i < rows; i++)
    for (int c = 0; c < C; c++) y[i * C + c] = x2[i * C + c] + P(11)[c];
  gemm('N', 'N', R, C, M, r, M, P(10), C, 1.f, y, C);
}

void tblock_backward(Net& net, Layer& L, const float* dy, float* dx, int n) {
  const int C = L.C, T = L.H * L.W, Hh = L.heads, d = C / Hh, M = L.mlp;
  const size_t rows = size_t(n) * T;
  const int R = int(rows);
  auto P = [&](int i) { return net.params[L.params[i]]->w.p; };
  auto G = [&](int i) { return net.params[L.params[i]]->g.p; };
  const float* xhat1 = L.keep[kXhat1].p; const float* h1 = L.keep[kH1].p; const float* qkv = L.keep[kQkv].p;
  const float* att = L.keep[kAtt].p; const float* o = L.keep[kO].p; const float* xhat2 = L.keep[kXhat2].p;
  const float* h2 = L.keep[kH2].p; const float* r = L.keep[kR].p;
  float* dx2 = L.keep[kDx2].p; float* dh = L.keep[kDh].p; float* dr = L.keep[kDr].p; float* dO = L.keep[kDo].p;
  float* dqkv = L.keep[kDqkv].p;
  // MLP: y = x2 + relu(h2·W1 + b1)·W2 + b2
  gemm('T', 'N', M, C, R, r, M, dy, C, 0.f, G(10), C);
  column_sums(dy, rows, C, G(11));
  gemm('N', 'T', R, M, C, dy, C, P(10), C, 0.f, dr, M);
  const size_t ru = rows * M;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < ru; i++) dr[i] = r[i] > 0.f ? dr[i] : 0.f;
  gemm('T', 'N', C, M, R, h2, C, dr, M, 0.f, G(8), M);
  column_sums(dr, rows, M, G(9));
  gemm('N', 'T', R, C, M, dr, M, P(8), M, 0.f, dh, C);
  layer_norm_bwd(dh, xhat2, L.keep[kRstd2].p, rows, C, P(6), dx2, G(6), G(7));
  const size_t rc = rows * C;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < rc; i++) dx2[i] += dy[i];
  // Attention output: x2 = x + o·Wo + bo
  gemm('T', 'N', C, C, R, o, C, dx2, C, 0.f, G(4), C);
  column_sums(dx2, rows, C, G(5));
  gemm('N', 'T', R, C, C, dx2, C, P(4), C, 0.f, dO, C);
  const float scale = 1.f / std::sqrt(float(d));
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int hd = 0; hd < Hh; hd++) {
      const float* base = qkv + size_t(b) * T * 3 * C;
      float* dbase = dqkv + size_t(b) * T * 3 * C;
      const float* A = att + (size_t(b) * Hh + hd) * T * T;
      std::vector<float> dS(size_t(T) * T);
      for (int i = 0; i < T; i++) {
        const float* doi = dO + (size_t(b) * T + i) * C + hd * d;
        double dot = 0;
        for (int j = 0; j < T; j++) {
          const float* v = base + size_t(j) * 3 * C + 2 * C + hd * d;
          float acc = 0;
          for (int e = 0; e < d; e++) acc += doi[e] * v[e];
          dS[i * T + j] = acc;  // dA
          dot += acc * A[i * T + j];
        }
        for (int j = 0; j < T; j++) dS[i * T + j] = A[i * T + j] * (dS[i * T + j] - float(dot)) * scale;
      }
      for (int j = 0; j < T; j++) {
        float* dq = dbase + size_t(j) * 3 * C + hd * d;
        float* dk = dq + C;
        float* dv = dq + 2 * C;
        for (int e = 0; e < d; e++) dq[e] = dk[e] = dv[e] = 0.f;
      }
      for (int i = 0; i < T; i++) {
        const float* q = base + size_t(i) * 3 * C + hd * d;
        const float* doi = dO + (size_t(b) * T + i) * C + hd * d;
        float* dq = dbase + size_t(i) * 3 * C + hd * d;
        for (int j = 0; j < T; j++) {
          const float* k = base + size_t(j) * 3 * C + C + hd * d;
          float* dk = dbase + size_t(j) * 3 * C + C + hd * d;
          float* dv = dk + C;
          const float s = dS[i * T + j], a = A[i * T + j];
          for (int e = 0; e < d; e++) {
            dq[e] += s * k[e];
            dk[e] += s * q[e];
            dv[e] += a * doi[e];
          }
        }
      }
    }
  gemm('T', 'N', C, 3 * C, R, h1, C, dqkv, 3 * C, 0.f, G(2), 3 * C);
  column_sums(dqkv, rows, 3 * C, G(3));
  gemm('N', 'T', R, C, 3 * C, dqkv, 3 * C, P(2), 3 * C, 0.f, dh, C);
  if (dx) {
    layer_norm_bwd(dh, xhat1, L.keep[kRstd1].p, rows, C, P(0), dx, G(0), G(1));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < rc; i++) dx[i] += dx2[i];
  } else {
    std::vector<float> scratch(rc);
    layer_norm_bwd(dh, xhat1, L.keep[kRstd1].p, rows, C, P(0), scratch.data(), G(0), G(1));
  }
}

void forward(Net& net, int n, bool training, uint64_t seed) {
  for (size_t li = 0; li < net.layers.size(); li++) {
    LayerTimer timer(net.profile ? &net.fwd_ms[li] : nullptr);
    Layer& L = net.layers[li];
    const float* x = in_of(net, li);
    float* y = L.out.p;
    size_t rows = size_t(n) * L.H * L.W;  // NHWC rows of C
    switch (L.op) {
      case Op::Conv: {
        ConvPlan& P = conv_plan(net, li, n);
        if (P.src_to16) P.src_to16->execute(net.strm, P.src32, P.src);
        if (P.reorder_fwd) reorder(P.w_user, P.w_fwd).execute(net.strm, P.w_user, P.w_fwd);
        P.fwd->execute(net.strm, {{DNNL_ARG_SRC, P.src}, {DNNL_ARG_WEIGHTS, P.w_fwd}, {DNNL_ARG_DST, P.dst}});
        net.strm.wait();
        if (L.bias) {
          const float* b = net.params[L.params[1]]->w.p;
          size_t orows = size_t(n) * L.OH * L.OW;
#pragma omp parallel for schedule(static)
          for (size_t i = 0; i < orows; i++)
            for (int c = 0; c < L.OC; c++) y[i * L.OC + c] += b[c];
        }
        break;
      }
      case Op::BN: {
        const int C = L.C;
        const float* gamma = net.params[L.params[0]]->w.p;
        const float* beta = net.params[L.params[1]]->w.p;
        float* mm = net.params[L.params[2]]->w.p;
        float* mv = net.params[L.params[3]]->w.p;
        std::vector<float> scale(C), shift(C);
        if (training) {
          std::vector<double> s(C), q(C);
          channel_sums(x, rows, C, nullptr, s.data());
          for (int c = 0; c < C; c++) L.mean.p[c] = float(s[c] / rows);
          channel_sums(x, rows, C, L.mean.p, q.data());
          for (int c = 0; c < C; c++) {
            float var = float(q[c] / rows);
            L.invstd.p[c] = 1.f / std::sqrt(var + L.eps);
            mm[c] = mm[c] - (mm[c] - L.mean.p[c]) * (1.f - L.momentum);
            mv[c] = mv[c] - (mv[c] - var) * (1.f - L.momentum);
            scale[c] = gamma[c] * L.invstd.p[c];
            shift[c] = beta[c] - L.mean.p[c] * scale[c];
          }
        } else {
          for (int c = 0; c < C; c++) {
            scale[c] = gamma[c] / std::sqrt(mv[c] + L.eps);
            shift[c] = beta[c] - mm[c] * scale[c];
          }
        }
        const float* sc = scale.data();
        const float* sh = shift.data();
        if (L.fuse_relu) {
          float* yr = net.layers[li + 1].out.p;  // the ReLU's output; this layer's own stays unused
#pragma omp parallel for schedule(static)
          for (size_t i = 0; i < rows; i++)
            for (int c = 0; c < C; c++) yr[i * C + c] = std::max(x[i * C + c] * sc[c] + sh[c], 0.f);
        } else {
#pragma omp parallel for schedule(static)
          for (size_t i = 0; i < rows; i++)
            for (int c = 0; c < C; c++) y[i * C + c] = x[i * C + c] * sc[c] + sh[c];
        }
        break;
      }
      case Op::Relu: {
        if (L.fused) break;
        size_t total = rows * L.C;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < total; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
        break;
      }
      case Op::MaxPool: {
        // Vectorised over channels: each window position is compared as a whole row of C values.
        // argmax keeps the input index of the first maximum (tfjs' choice on ties).
        const int C = L.C;
#pragma omp parallel for collapse(2) schedule(static)
        for (int b = 0; b < n; b++)
          for (int oh = 0; oh < L.OH; oh++) {
            std::vector<float> best(C);
            std::vector<int32_t> bi(C);
            for (int ow = 0; ow < L.OW; ow++) {
              size_t o = ((size_t(b) * L.OH + oh) * L.OW + ow) * C;
              for (int kh = 0; kh < L.k; kh++)
                for (int kw = 0; kw < L.k; kw++) {
                  const int32_t base = int32_t(((size_t(b) * L.H + oh * L.stride + kh) * L.W + ow * L.stride + kw) * C);
                  const float* xr = x + base;
                  if (kh == 0 && kw == 0) {
                    for (int c = 0; c < C; c++) best[c] = xr[c], bi[c] = base + c;
                  } else {
                    for (int c = 0; c < C; c++) {
                      bool gt = xr[c] > best[c];
                      best[c] = gt ? xr[c] : best[c];
                      bi[c] = gt ? base + c : bi[c];
                    }
                  }
                }
              memcpy(y + o, best.data(), C * sizeof(float));
              memcpy(L.argmax.data() + o, bi.data(), C * sizeof(int32_t));
            }
          }
        break;
      }
      case Op::Dropout: {
        size_t total = rows * L.C;
        if (!training || L.rate == 0.f) {
          memcpy(y, x, total * sizeof(float));
          break;
        }
        const float keep = 1.f - L.rate, inv = 1.f / keep;
        const uint64_t s = mix64(seed ^ (0x51ed2701ULL * (li + 1)));
        float* mask = L.mask.p;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < total; i++) {
          float u = float(mix64(s + i) >> 40) * (1.f / 16777216.f);
          mask[i] = u < keep ? inv : 0.f;
          y[i] = x[i] * mask[i];
        }
        break;
      }
      case Op::Gap: {
        const int C = L.C;
        const size_t hw = size_t(L.H) * L.W;
#pragma omp parallel for schedule(static)
        for (int b = 0; b < n; b++) {
          std::vector<double> acc(C, 0.0);
          for (size_t p = 0; p < hw; p++)
            for (int c = 0; c < C; c++) acc[c] += x[(size_t(b) * hw + p) * C + c];
          for (int c = 0; c < C; c++) y[size_t(b) * C + c] = float(acc[c] / hw);
        }
        break;
      }
      case Op::Dense: {
        const float* Wt = net.params[L.params[0]]->w.p;
        const float* b = net.params[L.params[1]]->w.p;
        for (int i = 0; i < n; i++) memcpy(y + size_t(i) * L.OC, b, L.OC * sizeof(float));
        dnnl::sgemm('N', 'N', n, L.OC, L.C, 1.f, x, L.C, Wt, L.OC, 1.f, y, L.OC);
        break;
      }
      case Op::PosEmb: {
        const float* e = net.params[L.params[0]]->w.p;
        const size_t per = L.in_size();
#pragma omp parallel for schedule(static)
        for (int b = 0; b < n; b++)
          for (size_t i = 0; i < per; i++) y[size_t(b) * per + i] = x[size_t(b) * per + i] + e[i];
        break;
      }
      case Op::TBlock:
        tblock_forward(net, L, x, y, n);
        break;
      case Op::Softmax: {
        const int K = L.C;
        for (int i = 0; i < n; i++) {
          const float* z = x + size_t(i) * K;
          float* p = y + size_t(i) * K;
          float mx = z[0];
          for (int k = 1; k < K; k++) mx = std::max(mx, z[k]);
          double sum = 0;
          for (int k = 0; k < K; k++) sum += (p[k] = std::exp(z[k] - mx));
          for (int k = 0; k < K; k++) p[k] = float(p[k] / sum);
        }
        break;
      }
    }
  }
}

// Backward pass from the softmax's input gradient (already in the layer before softmax's dout).
void backward(Net& net, int n) {
  for (size_t li = net.layers.size() - 1; li-- > 0;) {
    LayerTimer timer(net.profile ? &net.bwd_ms[li] : nullptr);
    Layer& L = net.layers[li];
    const float* x = in_of(net, li);
    const float* y = L.out.p;
    const float* dy = L.dout.p;
    float* dx = li > 0 ? net.layers[li - 1].dout.p : nullptr;
    size_t rows = size_t(n) * L.H * L.W;
    switch (L.op) {
      case Op::Conv: {
        ConvPlan& P = conv_plan(net, li, n);
        if (L.bias) {
          std::vector<double> s(L.OC);
          channel_sums(dy, size_t(n) * L.OH * L.OW, L.OC, nullptr, s.data());
          float* db = net.params[L.params[1]]->g.p;
          for (int c = 0; c < L.OC; c++) db[c] = float(s[c]);
        }
        if (P.ddst_to16) P.ddst_to16->execute(net.strm, P.diff_dst32, P.diff_dst);
        P.bwd_w->execute(net.strm, {{DNNL_ARG_SRC, P.src}, {DNNL_ARG_DIFF_DST, P.diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, P.dw_prim}});
        if (P.reorder_dw) reorder(P.dw_prim, P.dw_user).execute(net.strm, P.dw_prim, P.dw_user);
        if (dx) {
          if (P.reorder_bwd && P.w_bwd.get_data_handle() != P.w_fwd.get_data_handle())
            reorder(P.w_user, P.w_bwd).execute(net.strm, P.w_user, P.w_bwd);
          P.bwd_data->execute(net.strm, {{DNNL_ARG_DIFF_DST, P.diff_dst}, {DNNL_ARG_WEIGHTS, P.w_bwd}, {DNNL_ARG_DIFF_SRC, P.diff_src}});
        }
        net.strm.wait();
        break;
      }
      case Op::BN: {
        const int C = L.C;
        const float* gamma = net.params[L.params[0]]->w.p;
        float* dgamma = net.params[L.params[0]]->g.p;
        float* dbeta = net.params[L.params[1]]->g.p;
        // With a fused ReLU, the gradient at this layer's output is the ReLU's, masked by its output.
        const float* g = L.fuse_relu ? net.layers[li + 1].dout.p : dy;
        const float* mask = L.fuse_relu ? net.layers[li + 1].out.p : nullptr;
        std::vector<double> sdy(C, 0.0), sdyx(C, 0.0);
        {
          // One pass: Σ dy and Σ dy·(x - mean) per channel (Σ dy·xhat = invstd · the latter).
          int T = omp_get_max_threads();
          std::vector<double> part(size_t(T) * 2 * C, 0.0);
          const float* mean = L.mean.p;
#pragma omp parallel
          {
            double* acc = part.data() + size_t(omp_get_thread_num()) * 2 * C;
            std::vector<float> r1(C), r2(C);
#pragma omp for schedule(static)
            for (size_t blk = 0; blk < (rows + 63) / 64; blk++) {
              std::fill(r1.begin(), r1.end(), 0.f);
              std::fill(r2.begin(), r2.end(), 0.f);
              size_t end = std::min(rows, (blk + 1) * 64);
              for (size_t i = blk * 64; i < end; i++) {
                const float* gi = g + i * C;
                const float* xi = x + i * C;
                if (mask) {
                  const float* mi = mask + i * C;
                  for (int c = 0; c < C; c++) {
                    float d = mi[c] > 0.f ? gi[c] : 0.f;
                    r1[c] += d;
                    r2[c] += d * (xi[c] - mean[c]);
                  }
                } else {
                  for (int c = 0; c < C; c++) {
                    r1[c] += gi[c];
                    r2[c] += gi[c] * (xi[c] - mean[c]);
                  }
                }
              }
              for (int c = 0; c < C; c++) acc[c] += r1[c], acc[C + c] += r2[c];
            }
          }
          for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) sdy[c] += part[size_t(t) * 2 * C + c], sdyx[c] += part[size_t(t) * 2 * C + C + c];
        }
        std::vector<float> a(C), bcoef(C), cc(C);
        for (int c = 0; c < C; c++) {
          float is = L.invstd.p[c];
          dbeta[c] = float(sdy[c]);
          dgamma[c] = float(sdyx[c] * is);
          // dx = gamma·is·(dy - Σdy/M - xhat·Σ(dy·xhat)/M), xhat = (x - mean)·is
          a[c] = gamma[c] * is;
          bcoef[c] = float(sdy[c] / rows);
          cc[c] = float(sdyx[c] * is * is / rows);
        }
        if (dx) {
          const float *pa = a.data(), *pb = bcoef.data(), *pc = cc.data(), *mean = L.mean.p;
#pragma omp parallel for schedule(static)
          for (size_t i = 0; i < rows; i++)
            for (int c = 0; c < C; c++) {
              float d = mask ? (mask[i * C + c] > 0.f ? g[i * C + c] : 0.f) : g[i * C + c];
              dx[i * C + c] = pa[c] * (d - pb[c] - (x[i * C + c] - mean[c]) * pc[c]);
            }
        }
        break;
      }
      case Op::Relu: {
        if (!dx || L.fused) break;  // a fused ReLU's gradient is taken by the batch-norm before it
        size_t total = rows * L.C;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < total; i++) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
        break;
      }
      case Op::MaxPool: {
        if (!dx) break;
        size_t in_total = rows * L.C, out_total = size_t(n) * L.out_size();
        memset(dx, 0, in_total * sizeof(float));
        if (L.k <= L.stride) {
#pragma omp parallel for schedule(static)
          for (size_t o = 0; o < out_total; o++) dx[L.argmax[o]] = dy[o];
        } else {
          for (size_t o = 0; o < out_total; o++) dx[L.argmax[o]] += dy[o];
        }
        break;
      }
      case Op::Dropout: {
        if (!dx) break;
        size_t total = rows * L.C;
        if (L.rate == 0.f) {
          memcpy(dx, dy, total * sizeof(float));
          break;
        }
        const float* mask = L.mask.p;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < total; i++) dx[i] = dy[i] * mask[i];
        break;
      }
      case Op::Gap: {
        if (!dx) break;
        const int C = L.C;
        const size_t hw = size_t(L.H) * L.W;
        const float inv = 1.f / float(hw);
#pragma omp parallel for schedule(static)
        for (int b = 0; b < n; b++)
          for (size_t p = 0; p < hw; p++)
            for (int c = 0; c < C; c++) dx[(size_t(b) * hw + p) * C + c] = dy[size_t(b) * C + c] * inv;
        break;
      }
      case Op::Dense: {
        const float* Wt = net.params[L.params[0]]->w.p;
        float* dW = net.params[L.params[0]]->g.p;
        float* db = net.params[L.params[1]]->g.p;
        dnnl::sgemm('T', 'N', L.C, L.OC, n, 1.f, x, L.C, dy, L.OC, 0.f, dW, L.OC);
        for (int c = 0; c < L.OC; c++) {
          double s = 0;
          for (int i = 0; i < n; i++) s += dy[size_t(i) * L.OC + c];
          db[c] = float(s);
        }
        if (dx) dnnl::sgemm('N', 'T', n, L.C, L.OC, 1.f, dy, L.OC, Wt, L.OC, 0.f, dx, L.C);
        break;
      }
      case Op::PosEmb: {
        float* ge = net.params[L.params[0]]->g.p;
        const size_t per = L.in_size();
        for (size_t i = 0; i < per; i++) {
          double acc = 0;
          for (int b = 0; b < n; b++) acc += dy[size_t(b) * per + i];
          ge[i] = float(acc);
        }
        if (dx) memcpy(dx, dy, size_t(n) * per * sizeof(float));
        break;
      }
      case Op::TBlock:
        tblock_backward(net, L, dy, dx, n);
        break;
      case Op::Softmax:
        break;
    }
  }
}

void adam(Net& net, float lr) {
  net.step += 1;
  const double c1 = 1.0 - std::pow(double(net.beta1), net.step);
  const double c2 = 1.0 - std::pow(double(net.beta2), net.step);
  const float b1 = net.beta1, b2 = net.beta2, eps = net.adam_eps;
  const float ic1 = float(1.0 / c1), ic2 = float(1.0 / c2);
  for (auto& pp : net.params) {
    Param& p = *pp;
    if (!p.trainable) continue;
    float *w = p.w.p, *g = p.g.p, *m = p.m.p, *v = p.v.p;
    size_t N = p.w.n;
#pragma omp parallel for schedule(static) if (N > 65536)
    for (size_t i = 0; i < N; i++) {
      m[i] = b1 * m[i] + (1.f - b1) * g[i];
      v[i] = b2 * v[i] + (1.f - b2) * g[i] * g[i];
      w[i] -= lr * (m[i] * ic1) / (std::sqrt(v[i] * ic2) + eps);
    }
  }
}

int fail(Net* net, char* err, int errlen, const std::string& msg) {
  if (net) net->error = msg;
  if (err && errlen > 0) snprintf(err, size_t(errlen), "%s", msg.c_str());
  return -1;
}

int check_batch(Net* net, int n, char* err, int errlen) {
  if (n < 1 || n > net->batch_max)
    return fail(net, err, errlen, "batch of " + std::to_string(n) + " is outside 1.." + std::to_string(net->batch_max));
  return 0;
}

}  // namespace

extern "C" {

const char* emo_version() {
  static std::string v;
  const dnnl_version_t* d = dnnl_version();
  v = "oneDNN " + std::to_string(d->major) + "." + std::to_string(d->minor) + "." + std::to_string(d->patch) + (d->cpu_runtime == DNNL_RUNTIME_OMP ? " (OpenMP)" : "");
  return v.c_str();
}

void* emo_create(const char* spec, int H, int W, int C, int batch_max, int threads, int bf16, char* err, int errlen) {
  try {
    auto net = std::make_unique<Net>();
    net->H = H, net->W = W, net->C = C, net->batch_max = batch_max;
    net->bf16 = bf16 != 0;
    net->threads = std::max(1, threads);
    if (H < 1 || W < 1 || C < 1 || batch_max < 1) throw std::runtime_error("bad input shape or batch size");
    omp_set_num_threads(net->threads);
    build(*net, spec);
    return net.release();
  } catch (const std::exception& e) {
    fail(nullptr, err, errlen, e.what());
    return nullptr;
  }
}

void emo_destroy(void* h) { delete static_cast<Net*>(h); }

int emo_layer_count(void* h) { return int(static_cast<Net*>(h)->layers.size()); }

// Per-layer timing: on != 0 starts (and zeroes) it, 0 stops it; out receives 2 x layers values, forward then
// backward milliseconds summed since it started.
void emo_set_profile(void* h, int on) {
  Net* net = static_cast<Net*>(h);
  net->profile = on != 0;
  if (on) {
    net->fwd_ms.assign(net->layers.size(), 0.0);
    net->bwd_ms.assign(net->layers.size(), 0.0);
  }
}
void emo_get_profile(void* h, double* out) {
  Net* net = static_cast<Net*>(h);
  size_t L = net->layers.size();
  for (size_t i = 0; i < L; i++) out[i] = i < net->fwd_ms.size() ? net->fwd_ms[i] : 0, out[L + i] = i < net->bwd_ms.size() ? net->bwd_ms[i] : 0;
}

int emo_classes(void* h) { return static_cast<Net*>(h)->classes; }
int emo_param_count(void* h) { return int(static_cast<Net*>(h)->params.size()); }
int emo_param_size(void* h, int i) { return int(static_cast<Net*>(h)->params.at(i)->w.n); }
int emo_param_trainable(void* h, int i) { return static_cast<Net*>(h)->params.at(i)->trainable ? 1 : 0; }

// which: 0 value, 1 gradient, 2 Adam first moment, 3 Adam second moment.
static Buf* param_buf(Net* net, int i, int which) {
  Param& p = *net->params.at(i);
  if (which != 0 && !p.trainable) return nullptr;
  return which == 0 ? &p.w : which == 1 ? &p.g : which == 2 ? &p.m : &p.v;
}
int emo_get_param(void* h, int i, int which, float* dst) {
  Buf* b = param_buf(static_cast<Net*>(h), i, which);
  if (!b) return -1;
  memcpy(dst, b->p, b->n * sizeof(float));
  return 0;
}
int emo_set_param(void* h, int i, int which, const float* src) {
  Buf* b = param_buf(static_cast<Net*>(h), i, which);
  if (!b) return -1;
  memcpy(b->p, src, b->n * sizeof(float));
  return 0;
}
double emo_get_step(void* h) { return static_cast<Net*>(h)->step; }
void emo_set_step(void* h, double t) { static_cast<Net*>(h)->step = t; }

// One training step on n images (NHWC, already augmented), n x classes targets and n sample
// weights. Gradients are those of Σ w·CE / Σ w; `apply` 0 leaves the weights (for tests).
// out[0] = Σ w·CE, out[1] = Σ w, out[2] = top-1 hits against the target's arg-max.
int emo_train_step(void* h, int n, const float* x, const float* targets, const float* sw, float lr, double seed, int apply,
                   float* out, char* err, int errlen) {
  Net* net = static_cast<Net*>(h);
  try {
    if (check_batch(net, n, err, errlen)) return -1;
    omp_set_num_threads(net->threads);
    memcpy(net->input.p, x, size_t(n) * net->H * net->W * net->C * sizeof(float));
    forward(*net, n, true, uint64_t(seed));
    const int K = net->classes;
    const float* p = net->layers.back().out.p;
    float* dz = net->layers[net->layers.size() - 2].dout.p;
    double wsum = 0, loss = 0;
    int hits = 0;
    for (int i = 0; i < n; i++) wsum += sw[i];
    const float inv = wsum > 0 ? float(1.0 / wsum) : 0.f;
    for (int i = 0; i < n; i++) {
      const float* pi = p + size_t(i) * K;
      const float* ti = targets + size_t(i) * K;
      double ce = 0, tsum = 0;
      int pa = 0, ta = 0;
      for (int k = 0; k < K; k++) {
        ce -= ti[k] * std::log(std::max(pi[k], 1e-7f));
        tsum += ti[k];
        if (pi[k] > pi[pa]) pa = k;
        if (ti[k] > ti[ta]) ta = k;
      }
      loss += sw[i] * ce;
      hits += pa == ta;
      for (int k = 0; k < K; k++) dz[size_t(i) * K + k] = sw[i] * inv * (float(tsum) * pi[k] - ti[k]);
    }
    backward(*net, n);
    if (apply) adam(*net, lr);
    out[0] = float(loss), out[1] = float(wsum), out[2] = float(hits);
    return 0;
  } catch (const std::exception& e) {
    return fail(net, err, errlen, e.what());
  }
}

// Inference: class probabilities of n images (batch-norm on moving statistics, no dropout).
int emo_forward(void* h, int n, const float* x, float* probs, char* err, int errlen) {
  Net* net = static_cast<Net*>(h);
  try {
    if (check_batch(net, n, err, errlen)) return -1;
    omp_set_num_threads(net->threads);
    memcpy(net->input.p, x, size_t(n) * net->H * net->W * net->C * sizeof(float));
    forward(*net, n, false, 0);
    memcpy(probs, net->layers.back().out.p, size_t(n) * net->classes * sizeof(float));
    return 0;
  } catch (const std::exception& e) {
    return fail(net, err, errlen, e.what());
  }
}

}  // extern "C"

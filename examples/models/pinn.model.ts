import { defineModel } from "flatgrad";

// A physics-informed network: u(t) solves u'' + u = 0 on [0, π/2] with u(0) = 0, u(π/2) = 1
// (the exact solution is sin t). No data: the loss is the equation's residual at 32 collocation
// points, u'' taken by g.grad of g.grad of the network with respect to its input, plus the two
// boundary conditions. The compiler differentiates that residual again for the param gradients.
export default defineModel({
  dtype: "float64",
  optimizer: { type: "adam", lr: 0.01 },
  build(g) {
    const t = g.input("t", [32, 1]); // collocation points
    const tb = g.input("tb", [2, 1]); // the boundary points 0 and π/2
    const ub = g.input("ub", [2, 1]); // u there: 0 and 1
    const W1 = g.param("W1", [16, 1]);
    const b1 = g.param("b1", [16], { init: "uniform", low: -1, high: 1 });
    const W2 = g.param("W2", [16, 16]);
    const b2 = g.param("b2", [16]);
    const W3 = g.param("W3", [1, 16]);
    const net = (x: typeof t) => g.linear(g.tanh(g.linear(g.tanh(g.linear(x, W1, b1)), W2, b2)), W3);
    const u = net(t);
    const [dt_u] = g.grad(g.sum(u), [t]); //      u'(t), one row per point (the rows are independent)
    const [dt_dt_u] = g.grad(g.sum(dt_u), [t]); // u''(t)
    g.output("u", u);
    const residual = g.add(dt_dt_u, u); //         u'' + u
    return g.add(g.mean(g.square(residual)), g.mse(net(tb), ub));
  },
});

"""Parity fixtures for the nn layers, optimizers and schedulers: BatchNorm2d
(training steps, running statistics, eval), LayerNorm, SGD/Adam/AdamW with
parameter groups, StepLR and CosineAnnealingLR, and the printed form of models.
Writes test/fixtures/parity/nn.json."""
import torch
from torch import nn
from common import case, rand, tensor_json, write

torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
cases = []

# BatchNorm2d: three training forwards (running statistics), gradients of the last, then eval.
for opts in [dict(), dict(momentum=0.3, eps=1e-3), dict(momentum=None), dict(affine=False), dict(track_running_stats=False)]:
    bn = nn.BatchNorm2d(3, **opts)
    if bn.affine:
        with torch.no_grad():
            bn.weight.copy_(rand(g, 3, low=0.5, high=1.5)); bn.bias.copy_(rand(g, 3))
    xs = [rand(g, 4, 3, 5, 6, low=-2, high=3) for _ in range(3)]
    rec = {'name': f'BatchNorm2d {opts}', 'args': {k: v for k, v in opts.items()},
           'weight': tensor_json(bn.weight) if bn.affine else None, 'bias': tensor_json(bn.bias) if bn.affine else None,
           'inputs': [tensor_json(x) for x in xs], 'outputs': [], 'running': []}
    for i, x in enumerate(xs):
        xi = x.clone().requires_grad_(True)
        y = bn(xi)
        rec['outputs'].append(tensor_json(y))
        if bn.track_running_stats:
            rec['running'].append({'mean': tensor_json(bn.running_mean), 'var': tensor_json(bn.running_var), 'n': int(bn.num_batches_tracked)})
        if i == 2:
            dy = rand(g, *y.shape)
            (y * dy).sum().backward()
            rec['dy'] = tensor_json(dy)
            rec['grads'] = {'x': tensor_json(xi.grad), 'weight': tensor_json(bn.weight.grad) if bn.affine else None,
                            'bias': tensor_json(bn.bias.grad) if bn.affine else None}
    bn.eval()
    xe = rand(g, 2, 3, 4, 4)
    rec['eval_input'] = tensor_json(xe)
    rec['eval_output'] = tensor_json(bn(xe))
    cases.append(rec)

# LayerNorm over the last one and two dimensions, with and without the affine parameters.
for shape, ns, affine in [((4, 10), [10], True), ((2, 3, 4, 5), [4, 5], True), ((3, 7), [7], False)]:
    ln = nn.LayerNorm(ns, elementwise_affine=affine, eps=1e-5)
    if affine:
        with torch.no_grad():
            ln.weight.copy_(rand(g, *ns, low=0.5, high=1.5)); ln.bias.copy_(rand(g, *ns))
    x = rand(g, *shape, low=-2, high=2).requires_grad_(True)
    y = ln(x); dy = rand(g, *y.shape); (y * dy).sum().backward()
    cases.append({'name': f'LayerNorm {list(shape)} {ns} affine={affine}', 'args': {'normalizedShape': ns, 'affine': affine},
                  'weight': tensor_json(ln.weight) if affine else None, 'bias': tensor_json(ln.bias) if affine else None,
                  'input': tensor_json(x), 'output': tensor_json(y), 'dy': tensor_json(dy),
                  'grads': {'x': tensor_json(x.grad), 'weight': tensor_json(ln.weight.grad) if affine else None,
                            'bias': tensor_json(ln.bias.grad) if affine else None}})

# Optimizers on loss = sum(a * p) + 0.5 * sum(b * p^2) per parameter, two groups,
# with a scheduler stepping every other step: parameters after each step.
def optim_case(name, make_opt, make_sched, steps=8):
    p0 = torch.nn.Parameter(rand(g, 5)); p1 = torch.nn.Parameter(rand(g, 3))
    a0, b0, a1, b1 = rand(g, 5), rand(g, 5, low=0.5, high=2), rand(g, 3), rand(g, 3, low=0.5, high=2)
    init = [tensor_json(p0), tensor_json(p1)]
    opt = make_opt(p0, p1)
    sched = make_sched(opt) if make_sched else None
    traj, lrs = [], []
    for s in range(steps):
        opt.zero_grad()
        loss = (a0 * p0).sum() + 0.5 * (b0 * p0 * p0).sum() + (a1 * p1).sum() + 0.5 * (b1 * p1 * p1).sum()
        loss.backward()
        opt.step()
        if sched and s % 2 == 1:
            sched.step()
        traj.append([tensor_json(p0), tensor_json(p1)])
        lrs.append([grp['lr'] for grp in opt.param_groups])
    return {'name': name, 'init': init, 'a0': tensor_json(a0), 'b0': tensor_json(b0), 'a1': tensor_json(a1), 'b1': tensor_json(b1),
            'trajectory': traj, 'lrs': lrs}

O = torch.optim
sch = torch.optim.lr_scheduler
cases.append(optim_case('SGD momentum groups StepLR', lambda p0, p1: O.SGD([{'params': [p0]}, {'params': [p1], 'lr': 0.05, 'momentum': 0.5}], lr=0.1, momentum=0.9, weight_decay=0.01),
                        lambda o: sch.StepLR(o, step_size=2, gamma=0.5)))
cases.append(optim_case('SGD nesterov dampening=0', lambda p0, p1: O.SGD([p0, p1], lr=0.1, momentum=0.8, nesterov=True), None))
cases.append(optim_case('SGD dampening', lambda p0, p1: O.SGD([p0, p1], lr=0.1, momentum=0.8, dampening=0.3, maximize=False), None))
cases.append(optim_case('Adam groups CosineAnnealingLR', lambda p0, p1: O.Adam([{'params': [p0], 'lr': 0.05}, {'params': [p1]}], lr=0.01, weight_decay=0.1),
                        lambda o: sch.CosineAnnealingLR(o, T_max=3, eta_min=0.001)))
cases.append(optim_case('Adam amsgrad', lambda p0, p1: O.Adam([p0, p1], lr=0.02, betas=(0.8, 0.99), eps=1e-6, amsgrad=True), None))
cases.append(optim_case('AdamW', lambda p0, p1: O.AdamW([p0, p1], lr=0.05), None))
cases.append(optim_case('AdamW groups StepLR', lambda p0, p1: O.AdamW([{'params': [p0], 'weight_decay': 0.5}, {'params': [p1], 'lr': 0.01}], lr=0.03, weight_decay=0.05),
                        lambda o: sch.StepLR(o, step_size=3, gamma=0.3)))

# The printed form of models.
lenet = nn.Sequential(nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
    nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))
cases.append({'name': 'print LeNet', 'printed': str(lenet), 'names': [k for k, _ in lenet.state_dict().items()]})
other = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, dilation=2, bias=False, padding_mode='reflect'), nn.BatchNorm2d(8), nn.ReLU(),
    nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Tanh(), nn.LayerNorm([4, 5], eps=1e-6, elementwise_affine=False),
    nn.BatchNorm2d(4, momentum=None, affine=False, track_running_stats=False), nn.Flatten(2, 3), nn.Conv2d(4, 4, (3, 1), groups=2),
    nn.Conv2d(4, 4, 3, padding='same'), nn.Identity(), nn.Sequential(nn.Sigmoid(), nn.Conv2d(2, 2, 1)))
cases.append({'name': 'print layers', 'printed': str(other), 'names': [k for k, _ in other.state_dict().items()]})
more = nn.Sequential(nn.MaxPool2d(2), nn.MaxPool2d((2, 3), stride=1, padding=(1, 0), dilation=2, ceil_mode=True), nn.AvgPool2d(3),
    nn.AvgPool2d((2, 2), stride=(1, 2), padding=1, ceil_mode=True, count_include_pad=False, divisor_override=3),
    nn.AdaptiveAvgPool2d((None, 1)), nn.AdaptiveAvgPool2d(1), nn.Softmax(1), nn.LogSoftmax(dim=-1), nn.Linear(3, 4, bias=False))
cases.append({'name': 'print pooling and linear', 'printed': str(more), 'names': [k for k, _ in more.state_dict().items()]})

write('nn', cases)

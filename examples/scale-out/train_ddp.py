"""Train a flatgrad model exported with `flatgrad export --torch` on several processes with
torch.nn.parallel.DistributedDataParallel (gloo on 127.0.0.1, started with mp.spawn: torchrun
crashes with Debian's torch 1.13 on Python 3.11), then save a checkpoint that the generated
TypeScript module loads with loadParams().

Each process runs the model at its fixed batch size on its own slice of every global batch
(world size × batch rows); DDP averages the gradients, so one step equals one step of a single
process on the mean loss of those batches (`--world-size 1 --accumulate N` computes exactly that,
for checking).

    python3 train_ddp.py --module export/digits-mlp.py --init init.safetensors \\
        --data train.json --steps 200 --world-size 2 --out trained.safetensors [--predict test.json]

The data file is JSON: {"inputs": {name: [row values...]}, "rows": N}, rows first (as the model's
inputs), int32 inputs as integers. --predict writes {"predictions": {output: [values...]}} for the
rows of that file, computed in eval mode by rank 0 after training.
"""
import argparse
import importlib.util
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def batches(mod, data, rank, world, accumulate, step):
    """The micro-batches this process runs at `step`: slices of the step's global batch of world × accumulate batches."""
    shapes = mod.Model.INPUTS
    size = next(iter(shapes.values()))[0][0]
    rows = data["rows"]
    per_step = world * accumulate * size
    out = []
    for a in range(accumulate):
        start = (step * per_step + (rank * accumulate + a) * size) % rows
        idx = [(start + i) % rows for i in range(size)]
        batch = {}
        for name, (shape, dtype) in shapes.items():
            row = data["inputs"][name]
            width = len(row) // rows
            flat = [row[r * width + j] for r in idx for j in range(width)]
            batch[name] = torch.tensor(flat, dtype=dtype).reshape(shape)
        out.append(batch)
    return out


def worker(rank, world, args):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(args.port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.module)))
    from safetensors_io import load_file, params_and_buffers, save_file

    mod = load_module(args.module, "exported")
    model = mod.Model()
    model.load_state_dict(params_and_buffers(load_file(args.init), model), strict=True)
    net = DistributedDataParallel(model) if world > 1 else model
    opt = mod.make_optimizer(model)
    data = json.load(open(args.data))
    model.train()
    for step in range(args.steps):
        opt.zero_grad()
        micro = batches(mod, data, rank, world, args.accumulate, step)
        for batch in micro:
            loss, _ = net(**batch)
            (loss / len(micro)).backward()
        if hasattr(mod, "clip_gradients"):
            mod.clip_gradients(model)
        opt.step()
        if rank == 0 and args.log and (step % args.log == 0 or step == args.steps - 1):
            print(f"step {step}: loss {loss.item():.4f}", file=sys.stderr)
    if rank == 0:
        save_file(model.state_dict(), args.out)
        if args.predict:
            test = json.load(open(args.predict))
            model.eval()
            preds = {}
            with torch.no_grad():
                size = next(iter(mod.Model.INPUTS.values()))[0][0]
                for start in range(0, test["rows"] - size + 1, size):
                    batch = {}
                    for name, (shape, dtype) in mod.Model.INPUTS.items():
                        row = test["inputs"][name]
                        width = len(row) // test["rows"]
                        batch[name] = torch.tensor(row[start * width : (start + size) * width], dtype=dtype).reshape(shape)
                    _, outs = model(**batch)
                    for k, v in outs.items():
                        preds.setdefault(k, []).extend(v.reshape(-1).tolist())
            json.dump({"predictions": preds}, open(args.predict_out, "w"))
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--module", required=True, help="the exported .py (safetensors_io.py beside it)")
    p.add_argument("--init", required=True, help="the starting checkpoint (flatgrad's saveParams)")
    p.add_argument("--data", required=True)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--world-size", type=int, default=2)
    p.add_argument("--accumulate", type=int, default=1, help="micro-batches per process per step")
    p.add_argument("--out", required=True)
    p.add_argument("--predict", help="a data file to predict after training")
    p.add_argument("--predict-out", default="predictions.json")
    p.add_argument("--port", type=int, default=29517)
    p.add_argument("--log", type=int, default=0, help="print the loss every N steps")
    args = p.parse_args()
    mp.spawn(worker, args=(args.world_size, args), nprocs=args.world_size, join=True)


if __name__ == "__main__":
    main()

"""Run exported flatgrad models in PyTorch for test/interop/torch.test.ts.

Input: a JSON file with a list of cases; output (stdout): JSON with, per case, the training-mode loss,
gradients, outputs and buffers, the optimizer trajectory of make_optimizer, and the eval-mode outputs.
Float64 numbers cross as JSON's shortest round-trip text, so nothing is lost on the way.
"""
import importlib.util
import json
import sys

import torch

torch.use_deterministic_algorithms(True)


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tensors(d, dtypes):
    return {k: torch.tensor(v["values"], dtype=dtypes[v["dtype"]]).reshape(v["shape"]) for k, v in d.items()}


def flat(t):
    return t.detach().reshape(-1).tolist()


def main():
    cases = json.load(open(sys.argv[1]))
    results = []
    for case in cases:
        mod = load(case["module"], case["name"])
        sys.path.insert(0, case["dir"])
        st = load(case["dir"] + "/safetensors_io.py", "safetensors_io")
        model = mod.Model()
        dtypes = {"float32": torch.float32, "float64": torch.float64, "int32": torch.long}
        if "checkpoint" in case:
            state = st.load_file(case["checkpoint"])
            model.load_state_dict(st.params_and_buffers(state, model), strict=True)
        else:
            with torch.no_grad():
                for k, v in tensors(case["state"], dtypes).items():
                    model.state_dict()[k].copy_(v)
        inputs = tensors(case["inputs"], dtypes)
        res = {"keys": sorted(model.state_dict().keys())}
        # a model with dropout is compared in eval mode only: PyTorch's generator draws its own masks
        train = case.get("train", True)
        model.train(train)
        loss, outs = model(**inputs)
        if loss is not None and train:
            loss.backward()
            res["loss"] = loss.item()
            res["grads"] = {k: flat(p.grad) for k, p in model.named_parameters()}
        res["train_outputs"] = {k: flat(v) for k, v in outs.items()}
        res["buffers"] = {k: flat(b) for k, b in model.named_buffers()}
        if case.get("steps", 0) and train:
            opt = mod.make_optimizer(model)
            for _ in range(case["steps"]):
                opt.zero_grad()
                loss, _ = model(**inputs)
                loss.backward()
                if hasattr(mod, "clip_gradients"):
                    mod.clip_gradients(model)
                opt.step()
            res["stepped"] = {k: flat(p) for k, p in model.named_parameters()}
        if "save" in case:
            st.save_file(model.state_dict(), case["save"])
        model.eval()
        with torch.no_grad():
            eval_loss, outs = model(**inputs)
        res["eval_outputs"] = {k: flat(v) for k, v in outs.items()}
        if eval_loss is not None:
            res["eval_loss"] = eval_loss.item()
        results.append(res)
    json.dump(results, sys.stdout)


main()

"""The seed document's deployment, as the serving benchmark's peer: a Flask app whose /predict
runs a PyTorch model on {"input_data": [[...]]}, served by gunicorn (2 sync workers).

The model is the same 784-128-10 MLP the platform serves, with the same weights, read from the
JSON file named by MLP_WEIGHTS (written by bench/serve.ts). Debian's python3-flask, gunicorn
and python3-torch; run with /usr/bin/python3 -m gunicorn -w 2 flask_server:app.
"""
import json
import os

import torch
from flask import Flask, jsonify, request

# One intra-op thread per worker: two workers already use both cores (more threads only contend).
torch.set_num_threads(1)

with open(os.environ["MLP_WEIGHTS"]) as f:
    spec = json.load(f)

sizes = spec["sizes"]
layers = []
for i, layer in enumerate(spec["layers"]):
    lin = torch.nn.Linear(sizes[i], sizes[i + 1])
    with torch.no_grad():
        # The file holds W as [in, out] row-major; nn.Linear keeps [out, in].
        lin.weight.copy_(torch.tensor(layer["W"], dtype=torch.float32).reshape(sizes[i], sizes[i + 1]).t())
        lin.bias.copy_(torch.tensor(layer["b"], dtype=torch.float32))
    layers.append(lin)
    if i + 1 < len(spec["layers"]):
        layers.append(torch.nn.ReLU())
layers.append(torch.nn.Softmax(dim=1))
model = torch.nn.Sequential(*layers).eval()

app = Flask(__name__)


@app.route("/predict", methods=["POST"])
def predict():
    data = request.get_json()
    x = torch.tensor(data["input_data"], dtype=torch.float32)
    with torch.no_grad():
        probabilities = model(x)
    return jsonify({
        "prediction": probabilities.argmax(dim=1).tolist(),
        "probabilities": probabilities.tolist(),
    })


@app.route("/health")
def health():
    return "ok"

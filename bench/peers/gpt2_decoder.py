"""GPT-2-small-shaped decoder for bench:generate (run with /usr/bin/python3, Debian's torch).

  export OUT            seeded random weights (12 layers, 768 dim, 12 heads, vocabulary 50,257), written as a
                        Hugging Face ONNX folder in Optimum's layout: config.json, generation_config.json,
                        onnx/model.onnx (+ model.onnx_data) with inputs input_ids, attention_mask, position_ids,
                        past_key_values.N.key|value and outputs logits, present.N.key|value; weights.pt for the peers.
                        (tokenizer.json and tokenizer_config.json are written by bench/generate.ts: GPT-2's vocabulary.)
  greedy OUT IDS N      PyTorch eager greedy decoding with a key/value cache: prints JSON {ids, tokensPerSecond, threads}
                        (best of 1 and 2 threads).
  make_app(OUT)         that loop behind Flask, for gunicorn (2 workers): see make_app.
"""
import json, math, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

CFG = dict(vocab=50257, ctx=1024, dim=768, layers=12, heads=12)


class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.h = h
        s.hd = d // h
        s.ln_1 = nn.LayerNorm(d)
        s.c_attn = nn.Linear(d, 3 * d)
        s.c_proj = nn.Linear(d, d)
        s.ln_2 = nn.LayerNorm(d)
        s.fc = nn.Linear(d, 4 * d)
        s.proj = nn.Linear(4 * d, d)

    def forward(s, x, mask, pk, pv):
        B, T, D = x.shape
        hd = s.hd
        q, k, v = s.c_attn(s.ln_1(x)).split(s.h * hd, dim=2)
        q = q.view(B, T, s.h, hd).transpose(1, 2)
        k = torch.cat([pk, k.view(B, T, s.h, hd).transpose(1, 2)], dim=2)
        v = torch.cat([pv, v.view(B, T, s.h, hd).transpose(1, 2)], dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd)) + mask
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(B, T, s.h * hd)
        x = x + s.c_proj(y)
        x = x + s.proj(F.gelu(s.fc(s.ln_2(x)), approximate='tanh'))
        return x, k, v


class Gpt2(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.wte = nn.Embedding(c['vocab'], c['dim'])
        s.wpe = nn.Embedding(c['ctx'], c['dim'])
        s.blocks = nn.ModuleList([Block(c['dim'], c['heads']) for _ in range(c['layers'])])
        s.ln_f = nn.LayerNorm(c['dim'])

    def forward(s, input_ids, attention_mask, position_ids, *past):
        T = input_ids.shape[1]
        P = past[0].shape[2]
        x = s.wte(input_ids) + s.wpe(position_ids)
        causal = torch.ones(T, P + T, dtype=torch.bool).tril(P)
        keep = causal[None, None] & (attention_mask[:, None, None, :] > 0)
        # float32 throughout (a Python-float fill would export as double); -1e9 masks as -inf would.
        mask = (keep.to(torch.float32) - 1.0) * 1e9
        presents = []
        for i, b in enumerate(s.blocks):
            x, k, v = b(x, mask, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        return (s.ln_f(x) @ s.wte.weight.T, *presents)


def build():
    torch.manual_seed(0)
    m = Gpt2(CFG)
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.02)
    return m.eval()


def empty_past(B=1):
    hd = CFG['dim'] // CFG['heads']
    return [torch.zeros(B, CFG['heads'], 0, hd) for _ in range(2 * CFG['layers'])]


def export(out):
    import onnx
    os.makedirs(os.path.join(out, 'onnx'), exist_ok=True)
    m = build()
    torch.save(m.state_dict(), os.path.join(out, 'weights.pt'))
    L = CFG['layers']
    past_names = [f'past_key_values.{i}.{kv}' for i in range(L) for kv in ('key', 'value')]
    present_names = [f'present.{i}.{kv}' for i in range(L) for kv in ('key', 'value')]
    ids = torch.tensor([[1, 2, 3]])
    hd = CFG['dim'] // CFG['heads']
    past = [torch.zeros(1, CFG['heads'], 2, hd) for _ in range(2 * L)]
    args = (ids, torch.ones(1, 5, dtype=torch.int64), torch.tensor([[2, 3, 4]]), *past)
    axes = {'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'total'}, 'position_ids': {0: 'batch', 1: 'sequence'}, 'logits': {0: 'batch', 1: 'sequence'}}
    for n in past_names: axes[n] = {0: 'batch', 2: 'past'}
    for n in present_names: axes[n] = {0: 'batch', 2: 'total'}
    tmp = os.path.join(out, 'onnx', 'tmp.onnx')
    torch.onnx.export(m, args, tmp, input_names=['input_ids', 'attention_mask', 'position_ids', *past_names],
                      output_names=['logits', *present_names], dynamic_axes=axes, opset_version=14, do_constant_folding=True)
    model = onnx.load(tmp)
    onnx.save_model(model, os.path.join(out, 'onnx', 'model.onnx'), save_as_external_data=True, all_tensors_to_one_file=True, location='model.onnx_data', size_threshold=1024)
    for f in os.listdir(os.path.join(out, 'onnx')):
        if f not in ('model.onnx', 'model.onnx_data'):
            os.remove(os.path.join(out, 'onnx', f))
    config = dict(architectures=['GPT2LMHeadModel'], model_type='gpt2', vocab_size=CFG['vocab'], n_positions=CFG['ctx'], n_ctx=CFG['ctx'],
                  n_embd=CFG['dim'], n_layer=L, n_head=CFG['heads'], activation_function='gelu_new', layer_norm_epsilon=1e-5,
                  bos_token_id=50256, eos_token_id=50256, tie_word_embeddings=True, use_cache=True)
    json.dump(config, open(os.path.join(out, 'config.json'), 'w'), indent=2)
    json.dump(dict(bos_token_id=50256, eos_token_id=50256, max_length=CFG['ctx']), open(os.path.join(out, 'generation_config.json'), 'w'), indent=2)


def greedy(m, ids, n):
    with torch.no_grad():
        past = empty_past()
        x = torch.tensor([ids])
        out, total = [], len(ids)
        t0 = time.perf_counter()
        pos = torch.arange(total)[None]
        for step in range(n):
            r = m(x, torch.ones(1, total, dtype=torch.int64), pos, *past)
            nxt = int(r[0][0, -1].argmax())
            out.append(nxt)
            past = list(r[1:])
            x = torch.tensor([[nxt]])
            pos = torch.tensor([[total]])
            total += 1
        return out, n / (time.perf_counter() - t0)


def make_app(folder):
    """The same greedy loop served as the seed documents deploy models: Flask, under gunicorn (2 workers).

    gunicorn -w 2 -b 127.0.0.1:PORT 'gpt2_decoder:make_app("FOLDER")'   POST /generate {"ids": [...], "max_tokens": n} -> {"ids": [...]}
    """
    from flask import Flask, jsonify, request
    torch.set_num_threads(1)
    m = build()
    m.load_state_dict(torch.load(os.path.join(folder, 'weights.pt')))
    app = Flask('gpt2_decoder')

    @app.post('/generate')
    def generate():
        body = request.get_json()
        ids, _ = greedy(m, body['ids'], int(body['max_tokens']))
        return jsonify(ids=ids)

    return app


if __name__ == '__main__':
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == 'export':
        export(out)
    elif cmd == 'greedy':
        ids = [int(t) for t in sys.argv[3].split(',')]
        n = int(sys.argv[4])
        m = build()
        m.load_state_dict(torch.load(os.path.join(out, 'weights.pt')))
        best = None
        for threads in (1, 2):
            torch.set_num_threads(threads)
            toks, tps = greedy(m, ids, n)
            if best is None or tps > best['tokensPerSecond']:
                best = dict(ids=toks, tokensPerSecond=tps, threads=threads)
        print(json.dumps(best))

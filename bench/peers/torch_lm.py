"""The PyTorch peer of `npm run bench:lm`: the same character-level GPT and recipe as our job.

GPT-2's architecture (learned positions, pre-LayerNorm blocks, causal attention, tanh GELU, tied
head, no dropout), GPT-2's initialisation, AdamW with decay on matrices and embeddings only,
linear warm-up then cosine to 0, clipping by global norm; random windows of context + 1 characters
from the training text (the first 90% of lines joined by "\\n"); valLoss over every
non-overlapping full window of the held-out text (the last 10% of lines), after the last step.
tokensPerSecond counts the training steps only.

usage: torch_lm.py CORPUS(.txt or .txt.gz) THREADS(1,2) STEPS LAYERS HEADS DIM CONTEXT BATCH
prints one JSON line per thread count.
"""
import gzip
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_lines(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8') as f:
        return [l for l in f.read().split('\n') if l != '']


def split(lines, validation=0.1):
    n_val = min(len(lines) - 1, max(1, round(len(lines) * validation)))
    return '\n'.join(lines[:-n_val]), '\n'.join(lines[-n_val:])


class Block(nn.Module):
    def __init__(self, dim, heads, context):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(dim, eps=1e-5)
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-5)
        self.c_fc = nn.Linear(dim, 4 * dim)
        self.mlp_proj = nn.Linear(4 * dim, dim)
        self.register_buffer('mask', torch.tril(torch.ones(context, context, dtype=torch.bool)))

    def attention(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))
        scores = scores.masked_fill(~self.mask[:t, :t], float('-inf'))
        y = F.softmax(scores, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, d))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))


class Gpt(nn.Module):
    def __init__(self, vocab, context, layers, heads, dim):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(context, dim)
        self.h = nn.ModuleList(Block(dim, heads, context) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim, eps=1e-5)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith('c_proj.weight') or name.endswith('mlp_proj.weight') else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith('bias'):
                nn.init.zeros_(p)

    def forward(self, ids):
        t = ids.shape[1]
        h = self.wte(ids) + self.wpe(torch.arange(t, device=ids.device))
        for block in self.h:
            h = block(h)
        return self.ln_f(h) @ self.wte.weight.t()  # tied head


def lr_at(base, t, total, warmup):
    if t < warmup:
        return base * (t + 1) / warmup
    progress = min(1.0, (t - warmup) / max(1, total - warmup))
    return 0.5 * base * (1 + math.cos(math.pi * progress))


def run(train_ids, val_ids, vocab, threads, steps, layers, heads, dim, context, batch, seed=0):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = Gpt(vocab, context, layers, heads, dim)
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(seed)
    train_seconds = 0.0
    losses = []
    for step in range(steps):
        starts = torch.randint(0, len(train_ids) - context, (batch,), generator=gen)
        idx = starts[:, None] + torch.arange(context + 1)[None, :]
        w = train_ids[idx]
        x, y = w[:, :-1], w[:, 1:]
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g['lr'] = lr_at(1e-3, step, steps, min(50, steps))
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        train_seconds += time.perf_counter() - t0
        losses.append(loss.item())
    model.eval()
    total = (len(val_ids) - 1) // context
    val_sum = 0.0
    with torch.no_grad():
        for first in range(0, total, 128):
            rows = min(128, total - first)
            w = val_ids[first * context: (first + rows) * context + 1]
            x = w[:-1].view(rows, context)
            y = w[1:].view(rows, context)
            val_sum += F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1), reduction='sum').item()
    val_loss = val_sum / (total * context)
    tail = losses[-max(1, steps // 10):]
    return {
        'threads': threads, 'steps': steps, 'tokensPerSecond': steps * batch * context / train_seconds, 'trainSeconds': train_seconds,
        'loss': sum(tail) / len(tail), 'valLoss': val_loss, 'perplexity': math.exp(val_loss), 'vocabSize': vocab,
    }


def main():
    path, threads, steps, layers, heads, dim, context, batch = sys.argv[1:9]
    train_text, val_text = split(read_lines(path))
    chars = sorted(set(train_text))
    index = {c: i for i, c in enumerate(chars)}
    unk = len(chars)
    encode = lambda s: torch.tensor([index.get(c, unk) for c in s], dtype=torch.long)
    train_ids, val_ids = encode(train_text), encode(val_text)
    for t in (int(x) for x in threads.split(',')):
        r = run(train_ids, val_ids, len(chars) + 1, t, int(steps), int(layers), int(heads), int(dim), int(context), int(batch))
        print(json.dumps(r), flush=True)


if __name__ == '__main__':
    main()

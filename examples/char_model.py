"""A character-level model that makes up English-looking words, learned from Debian's word
list (``apt-get install wamerican``: /usr/share/dict/words).

The lower-case words, one per line, are one stream of characters; a model reads 16 of them
and predicts each next one. Two models of about 100,000 parameters: a 2-layer causal
Transformer (d_model 64, 4 heads, feed-forward 256, learned positions) and an LSTM (embedding
64, 128 units). Both train with Adam on the same random windows; the validation loss, in
bits per character on words held out, is printed beside a unigram baseline (letter
frequencies alone) and, with ``--torch``, beside the same models trained in PyTorch from
the same initial weights. Then each model makes up ten words (``--temperature``, ``--seed``).

    python examples/char_model.py                     # 2,000 steps each
    python examples/char_model.py --steps 500 --torch
"""

import argparse
import math
import time

import numpy as np

import numpynn as nn

CONTEXT, BATCH = 16, 64
WORDS = "/usr/share/dict/words"


def load_words(path=WORDS, seed=0):
    """The a-z words of the list, shuffled, split 90/10; the alphabet with '\\n' first."""
    with open(path, encoding="utf-8") as f:
        words = sorted({w.strip() for w in f if w.strip().isascii() and w.strip().isalpha()})
    words = [w for w in words if w.islower()]
    np.random.default_rng(seed).shuffle(words)
    cut = len(words) * 9 // 10
    alphabet = "\n" + "".join(sorted(set("".join(words))))
    return words[:cut], words[cut:], alphabet


def encode(words, alphabet):
    """One stream of character indices: every word followed by '\\n' (index 0)."""
    lookup = {c: i for i, c in enumerate(alphabet)}
    return np.array([lookup[c] for c in "\n".join(words) + "\n"], dtype=np.int64)


def windows(stream, starts):
    """Inputs (N, CONTEXT) and their next characters (N, CONTEXT)."""
    steps = np.arange(CONTEXT)
    return stream[starts[:, None] + steps], stream[starts[:, None] + steps + 1]


class CharTransformer(nn.Module):
    """Token and position embeddings, a causal pre-norm Transformer encoder, a final norm
    and a linear read-out: logits (N, T, vocabulary)."""

    def __init__(self, vocabulary, d_model=64, heads=4, layers=2):
        self.tok = nn.Embedding(vocabulary, d_model)
        self.pos = nn.Embedding(CONTEXT, d_model)
        block = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0,
                                           batch_first=True, norm_first=True)  # fmt: skip
        self.encoder = nn.TransformerEncoder(block, layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocabulary)

    def forward(self, idx):
        h = self.tok(idx) + self.pos(np.arange(idx.shape[1]))
        return self.head(self.norm(self.encoder(h, is_causal=True)))

    def backward(self, grad):
        grad = self.encoder.backward(self.norm.backward(self.head.backward(grad)))
        self.tok.backward(grad)
        self.pos.backward(grad.sum(axis=0))  # every sequence used the same positions
        return None


class CharLSTM(nn.Module):
    """An embedding, an LSTM and a linear read-out at every step."""

    def __init__(self, vocabulary, embedding=64, units=128):
        self.tok = nn.Embedding(vocabulary, embedding)
        self.lstm = nn.LSTM(embedding, units, batch_first=True)
        self.head = nn.Linear(units, vocabulary)

    def forward(self, idx):
        return self.head(self.lstm(self.tok(idx))[0])

    def backward(self, grad):
        self.tok.backward(self.lstm.backward(self.head.backward(grad))[0])
        return None


def torch_twin(torch, model, vocabulary):
    """The same model in PyTorch with ``model``'s weights (same attribute names)."""
    t = torch.nn

    class Twin(t.Module):
        def __init__(self):
            super().__init__()
            if isinstance(model, CharTransformer):
                self.tok, self.pos = t.Embedding(vocabulary, 64), t.Embedding(CONTEXT, 64)
                block = t.TransformerEncoderLayer(
                    64, 4, 256, 0.0, batch_first=True, norm_first=True
                )
                self.encoder = t.TransformerEncoder(block, 2, enable_nested_tensor=False)
                self.norm, self.head = t.LayerNorm(64), t.Linear(64, vocabulary)
            else:
                self.tok, self.lstm = t.Embedding(vocabulary, 64), t.LSTM(64, 128, batch_first=True)
                self.head = t.Linear(128, vocabulary)

        def forward(self, idx):
            if not hasattr(self, "encoder"):
                return self.head(self.lstm(self.tok(idx))[0])
            steps = idx.shape[1]
            h = self.tok(idx) + self.pos(torch.arange(steps))
            mask = t.Transformer.generate_square_subsequent_mask(steps)
            return self.head(self.norm(self.encoder(h, mask=mask, is_causal=True)))

    twin = Twin()
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin


def numpy_logits(torch, twin):
    """The PyTorch twin as a function of NumPy indices."""
    return lambda x: twin(torch.from_numpy(x)).numpy()


def bits_per_char(logits_fn, stream, starts, chunk=512):
    """Mean cross-entropy of the next characters, in bits."""
    loss_fn, total = nn.CrossEntropyLoss(reduction="sum"), 0.0
    for i in range(0, len(starts), chunk):
        x, y = windows(stream, starts[i : i + chunk])
        total += loss_fn(logits_fn(x).transpose(0, 2, 1), y)  # (N, C, T) against (N, T)
    return total / (len(starts) * CONTEXT) / math.log(2)


def unigram_bits(train, val, vocabulary):
    """The cross-entropy of the validation characters under the training letter frequencies."""
    p = np.bincount(train, minlength=vocabulary) / len(train)
    return float(-np.mean(np.log2(p[val])))


def train(model, stream, steps, lr, seed):
    """Adam on ``steps`` batches of random windows; returns seconds per step."""
    loss_fn, opt = nn.CrossEntropyLoss(), nn.optim.Adam(model.parameters(), lr=lr)
    rng, start = np.random.default_rng(seed), time.perf_counter()
    for _ in range(steps):
        x, y = windows(stream, rng.integers(0, len(stream) - CONTEXT - 1, BATCH))
        loss_fn(model(x).transpose(0, 2, 1), y)
        opt.zero_grad()
        model.backward(loss_fn.backward().transpose(0, 2, 1))
        opt.step()
    return (time.perf_counter() - start) / steps


def train_torch(torch, twin, stream, steps, lr, seed):
    loss_fn, opt = torch.nn.CrossEntropyLoss(), torch.optim.Adam(twin.parameters(), lr=lr)
    rng, start = np.random.default_rng(seed), time.perf_counter()
    for _ in range(steps):
        x, y = windows(stream, rng.integers(0, len(stream) - CONTEXT - 1, BATCH))
        loss = loss_fn(twin(torch.from_numpy(x)).transpose(1, 2), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def sample_words(logits_fn, alphabet, count=10, temperature=0.8, seed=0, longest=20):
    """Words made up one character at a time from softmax(logits / temperature), each
    starting after a '\\n' and ending at the next."""
    rng, words = np.random.default_rng(seed), []
    for _ in range(count):
        text = [0]
        while len(text) <= longest:
            logits = logits_fn(np.array([text[-CONTEXT:]]))[0, -1].astype(np.float64)
            p = nn.functional.softmax(logits / temperature)
            text.append(int(rng.choice(len(p), p=p)))
            if text[-1] == 0:
                break
        words.append("".join(alphabet[i] for i in text[1:]).strip())
    return words


def main(steps=2000, compare_torch=False, temperature=0.8, seed=0, lr=3e-3, val_windows=2000):
    train_words, val_words, alphabet = load_words(seed=seed)
    train_stream, val_stream = encode(train_words, alphabet), encode(val_words, alphabet)
    vocabulary = len(alphabet)
    starts = np.arange(0, len(val_stream) - CONTEXT - 1, CONTEXT)[:val_windows]
    baseline = unigram_bits(train_stream, val_stream, vocabulary)
    print(f"{len(train_words):,} training words, {len(val_words):,} validation words, "
          f"{vocabulary} symbols; unigram baseline {baseline:.3f} bits/char")  # fmt: skip
    results = {"unigram": baseline}
    for name, cls in (("transformer", CharTransformer), ("lstm", CharLSTM)):
        nn.manual_seed(seed)
        model = cls(vocabulary)
        if compare_torch:
            import torch

            torch.set_num_threads(1)
            twin = torch_twin(torch, model, vocabulary)  # the same initial weights
            seconds = train_torch(torch, twin, train_stream, steps, lr, seed)
            with torch.no_grad():
                bits = bits_per_char(numpy_logits(torch, twin), val_stream, starts)
            results[f"{name} PyTorch"] = bits
            print(f"{name} (PyTorch): {bits:.3f} bits/char after {steps} steps, "
                  f"{1000 * seconds:.1f} ms/step")  # fmt: skip
        seconds = train(model, train_stream, steps, lr, seed)
        bits = bits_per_char(model, val_stream, starts)
        results[name] = bits
        print(f"{name} ({model.num_parameters():,} parameters): {bits:.3f} bits/char after "
              f"{steps} steps, {1000 * seconds:.1f} ms/step")  # fmt: skip
        words = sample_words(model, alphabet, temperature=temperature, seed=seed)
        print(f"  made-up words (temperature {temperature}): {' '.join(words)}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--torch", action="store_true", help="train the PyTorch twins too")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.steps, args.torch, args.temperature, args.seed)

"""Token ids to text as they arrive: incremental detokenizing and stop strings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from transformers import PreTrainedTokenizerBase

# A lone replacement character means the bytes of one character are split across tokens.
_INCOMPLETE = "\ufffd"


def fast_decoder(tokenizer: PreTrainedTokenizerBase) -> Callable[[list[int]], str]:
    """The Rust decoder when the tokenizer has one: the scheduler thread decodes every token."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and not getattr(tokenizer, "clean_up_tokenization_spaces", False):
        return lambda ids: backend.decode(ids, skip_special_tokens=True)
    return lambda ids: tokenizer.decode(ids, skip_special_tokens=True)


class IncrementalDetokenizer:
    """Decodes a short window of recent tokens per step rather than the whole output (what TGI and vLLM do),
    so a token's text can depend on its neighbours (byte-level BPE, sentencepiece spaces) at constant cost."""

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._prefix_offset = 0
        self._read_offset = 0

    def push(self, token_id: int) -> str:
        """Add one token; returns the text it completes (may be empty while a character is incomplete)."""
        self._ids.append(token_id)
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        new_text = self._decode(self._ids[self._prefix_offset :])
        if len(new_text) > len(prefix_text) and not new_text.endswith(_INCOMPLETE):
            self._prefix_offset = self._read_offset
            self._read_offset = len(self._ids)
            return new_text[len(prefix_text) :]
        return ""

    def flush(self) -> str:
        """Whatever is still held back at the end (an incomplete character decodes as U+FFFD)."""
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        rest = self._decode(self._ids[self._prefix_offset :])[len(prefix_text) :]
        self._prefix_offset = self._read_offset = len(self._ids)
        return rest


class OutputText:
    """One sequence's generated text: cut at the first stop string, and never releasing text that might
    still turn into a stop string (a streamed client must not see half of one)."""

    def __init__(self, decode: Callable[[list[int]], str], stop: Sequence[str]) -> None:
        self._detokenizer = IncrementalDetokenizer(decode)
        self._stop = [s for s in stop if s]
        self._longest_stop = max((len(s) for s in self._stop), default=0)
        self.text = ""
        self._released = 0
        self._stopped = False

    def add_token(self, token_id: int) -> bool:
        """Append a token's text; True when a stop string appeared (the text is then cut before it)."""
        delta = self._detokenizer.push(token_id)
        if not delta:
            return False
        search_from = max(0, len(self.text) - self._longest_stop + 1)
        self.text += delta
        cut = min((i for s in self._stop if (i := self.text.find(s, search_from)) >= 0), default=-1)
        if cut >= 0:
            self.text = self.text[:cut]
            self._stopped = True
            return True
        return False

    def release(self, final: bool) -> str:
        """The text not yet handed out that is safe to hand out now (everything once `final`)."""
        if final and not self._stopped:
            self.text += self._detokenizer.flush()
        end = len(self.text) if final else len(self.text) - self._possible_stop_start()
        if end <= self._released:
            return ""
        chunk = self.text[self._released : end]
        self._released = end
        return chunk

    def _possible_stop_start(self) -> int:
        """Length of the longest tail of the text that is the beginning of a stop string."""
        tail = self.text[-self._longest_stop :] if self._longest_stop else ""
        for size in range(len(tail), 0, -1):
            if any(s.startswith(tail[-size:]) for s in self._stop):
                return size
        return 0

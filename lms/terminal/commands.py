"""The command lines a trainee types, rebuilt from the keystrokes sent to the shell.

The platform sees keystrokes, not the shell's line editor, so the result is
what was typed: backspace, Ctrl-U, Ctrl-W and Ctrl-C are followed; keys that
edit the line in ways only the shell knows (arrows, history, Tab completion,
Ctrl-A/E/K...) mark the command ``edited``, and the replay shows what ran.
Input typed while a full-screen program (vi, top, less) holds the screen is
not taken for commands: that is seen in the output (the alternate screen).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

MAX_LENGTH = 1000
# Switching to and from the alternate screen (xterm private modes 1049, 1047, 47).
ALT_SCREEN = re.compile(rb"\x1b\[\?(?:1049|1047|47)([hl])")
PASTE_MARKERS = {"200~", "201~"}
CTRL_C, CTRL_D, CTRL_U, CTRL_W = "\x03", "\x04", "\x15", "\x17"
BACKSPACES = {"\x7f", "\x08"}
ENTER = {"\r", "\n"}


@dataclass(frozen=True)
class Command:
    text: str
    edited: bool = False


class CommandExtractor:
    """Feed it the input (and output) of one terminal; it returns complete commands."""

    def __init__(self, max_length: int = MAX_LENGTH):
        self.max_length = max_length
        self.alt_screen = False
        self._line: list[str] = []
        self._edited = False
        self._escape: str | None = None  # the escape sequence being read, after ESC
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed_output(self, data: bytes) -> None:
        """Follow full-screen programs entering and leaving the alternate screen."""
        found = ALT_SCREEN.findall(data)
        if found:
            self.alt_screen = found[-1] == b"h"

    def feed_input(self, data: bytes) -> list[Command]:
        commands = []
        for char in self._decoder.decode(data):
            command = self._key(char)
            if command is not None:
                commands.append(command)
        return commands

    # -- the line editor's model ------------------------------------------------------

    def _key(self, char: str) -> Command | None:
        if self._escape is not None:
            self._escape_key(char)
            return None
        if char == "\x1b":
            self._escape = ""
        elif char in ENTER:
            return self._finish()
        elif char in BACKSPACES:
            if self._line:
                self._line.pop()
        elif char in (CTRL_C, CTRL_D):
            if char == CTRL_C or not self._line:
                self._reset()
        elif char == CTRL_U:
            self._line.clear()
        elif char == CTRL_W:
            self._delete_word()
        elif char < " ":
            self._edited = True  # Tab, Ctrl-A, Ctrl-E, Ctrl-K, Ctrl-R...
        elif len(self._line) < self.max_length:
            self._line.append(char)
        return None

    def _escape_key(self, char: str) -> None:
        sequence = self._escape + char
        if sequence == "[" or sequence == "O":
            self._escape = sequence
            return
        if sequence.startswith("[") and not ("\x40" <= char <= "\x7e"):
            self._escape = sequence  # CSI parameters go on
            return
        if sequence.startswith("[") and len(sequence) > 32:
            self._escape = None  # a broken sequence: give up on it
            return
        self._escape = None
        if sequence[1:] in PASTE_MARKERS:
            return  # bracketed paste around pasted text: not an edit
        self._edited = True  # arrows, Home/End, Delete, Alt-key...

    def _delete_word(self) -> None:
        while self._line and self._line[-1] == " ":
            self._line.pop()
        while self._line and self._line[-1] != " ":
            self._line.pop()

    def _finish(self) -> Command | None:
        text, edited = "".join(self._line).strip(), self._edited
        self._reset()
        if self.alt_screen or not (text or edited):
            return None
        return Command(text=text, edited=edited)

    def _reset(self) -> None:
        self._line.clear()
        self._edited = False

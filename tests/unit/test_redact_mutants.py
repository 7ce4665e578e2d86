"""The edges of what `redact` scrubs and shows, pinned: what mutation testing (`make mutation`)
found no test holding."""

from __future__ import annotations

import base64

from rgpu_exec import redact

KEY = "rgpu_3f9a2c1b_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEo"
OTHER = "rgpu_0c1d2e3f_CiKeyCiKeyCiKeyCiKeyCiKeyCiKey1234"


def test_a_secret_of_four_characters_is_scrubbed_and_one_of_three_is_not() -> None:
    assert redact.scrub("pin 7a9b here", "7a9b") == "pin [REDACTED] here"
    assert redact.scrub("pin 7a9 here", "7a9") == "pin 7a9 here"


def test_pieces_of_each_of_two_secrets_are_scrubbed() -> None:
    text = f"first {KEY[14:30]}, then {OTHER[20:36]}"

    for order in ((KEY, OTHER), (OTHER, KEY)):
        scrubbed = redact.scrub(text, *order)
        assert KEY[14:22] not in scrubbed
        assert OTHER[20:28] not in scrubbed
        assert scrubbed.startswith("first [REDACTED]")


def test_a_piece_of_eight_characters_is_scrubbed_and_one_of_seven_is_not() -> None:
    secret = KEY[14:]

    assert redact.scrub(f"x {secret[:8]} y", KEY) == "x [REDACTED] y"
    assert redact.scrub(f"x {secret[:7]} y", KEY) == f"x {secret[:7]} y"


def test_a_key_shows_its_thirteen_character_prefix_and_anything_else_at_most_four() -> None:
    assert redact.key_prefix(KEY) == "rgpu_3f9a2c1b…"
    assert redact.key_prefix("sk-0123456789abcdef") == "sk-0…"
    assert redact.key_prefix("abcdefgh") == "ab…"
    assert redact.key_prefix("abc") == "…"


def test_the_shape_of_a_key_needs_sixteen_characters_after_its_prefix() -> None:
    shortest = "rgpu_3f9a2c1b_" + "a" * 16

    assert redact.looks_like_remotegpu_key(shortest)
    assert not redact.looks_like_remotegpu_key(shortest[:-1])
    assert not redact.looks_like_remotegpu_key(shortest.replace("_a", "-a", 1))
    assert not redact.looks_like_remotegpu_key(shortest.replace("3f9a", "3F9A"))
    assert not redact.looks_like_remotegpu_key("rgpx_3f9a2c1b_" + "a" * 16)


def test_a_piece_written_in_hex_is_scrubbed_at_either_alignment_and_in_any_case() -> None:
    piece = KEY[14:22].encode().hex()  # 16 hex digits: exactly one piece

    for text in (
        f"echo {piece} done",  # the piece alone: nothing of it to spare
        f"echo f{piece} done",  # one stray digit before it: the odd alignment
        f"echo {piece.upper()}0123456789abcdefABCDEF done",  # every hex digit, both cases
    ):
        scrubbed = redact.scrub(text, KEY)
        assert scrubbed.startswith("echo [REDACTED] "), text
        assert piece not in scrubbed.lower()


def test_a_secret_in_url_safe_base64_is_scrubbed_with_its_dash_and_underscore() -> None:
    secret = "~~~~????"  # one piece, whose URL-safe base64 holds both `-` and `_`
    encoded = base64.urlsafe_b64encode(secret.encode()).decode()
    assert "-" in encoded
    assert "_" in encoded

    assert redact.scrub(f"x {encoded} y", secret) == "x [REDACTED] y"


def test_an_excerpt_is_two_hundred_characters_and_reads_four_bytes_a_character() -> None:
    assert redact.excerpt(b"a" * 300) == "a" * 199 + "…"
    assert redact.excerpt(b"a" * 200) == "a" * 200, "exactly the limit: kept whole"
    assert redact.excerpt(b"a" * 300, limit=10) == "a" * 9 + "…"
    assert redact.excerpt(b" " * 800 + b"tail") == ""
    assert redact.excerpt(b" " * 799 + b"tail") == "t"


def test_a_key_quoted_by_mistake_still_shows_its_prefix() -> None:
    scrubbed = redact.scrub(f"key {KEY[:13]}… holds {KEY[14:22]}", f'"{KEY}"')

    assert scrubbed == f"key {KEY[:13]}… holds [REDACTED]"


def test_the_tail_of_a_secret_shorter_than_a_piece_is_not_scrubbed() -> None:
    assert redact.scrub(f"x {KEY[-7:]} y", KEY) == f"x {KEY[-7:]} y"


def test_words_in_a_secret_of_another_shape_are_not_scrubbed() -> None:
    secret = "abcdefgh12"  # not a RemoteGPU key: its pieces of letters only are words

    assert redact.scrub("the abcdefgh word", secret) == "the abcdefgh word"
    assert redact.scrub("the bcdefgh1 code", secret) == "the [REDACTED] code"


def test_an_escape_beyond_unicode_is_kept_as_written_and_the_rest_still_scrubbed() -> None:
    text = rf"x \UFFFFFFFF y {KEY[14:22]}"

    assert redact.scrub(text, KEY) == r"x \UFFFFFFFF y [REDACTED]"


def test_a_piece_written_with_an_escape_of_the_last_code_point_is_scrubbed() -> None:
    secret = "\U0010ffff1234567"  # a key of another shape: one piece, its first character the last
    text = r"x \U0010FFFF1234567 y"

    assert redact.scrub(text, secret) == "x [REDACTED] y"


def test_a_piece_at_the_very_start_of_a_text_with_an_escape_in_it_is_scrubbed() -> None:
    piece = KEY[14:22]
    escaped = piece[0] + rf"\x{ord(piece[1]):02x}" + piece[2:]

    assert redact.scrub(f"{escaped} tail", KEY) == "[REDACTED] tail"


def test_a_piece_in_base64_that_ends_in_x_is_scrubbed() -> None:
    encoded = base64.b64encode(b"x1234567W").decode()  # 12 characters, the last an X
    assert encoded.endswith("X")

    assert redact.scrub(f"data {encoded} end", "1234567W") == "data [REDACTED] end"


def test_a_piece_in_the_last_whole_byte_of_a_base64_run_is_scrubbed() -> None:
    encoded = base64.b64encode(b"x12345678").decode() + "A"  # 13 characters: one is noise

    assert redact.scrub(f"data {encoded} end", "12345678") == "data [REDACTED] end"


def test_a_piece_is_scrubbed_where_it_is_in_a_text_that_grows_when_lower_cased() -> None:
    piece = KEY[14:22]

    assert redact.scrub(f"İ {piece.upper()} İ", KEY) == "İ [REDACTED] İ"


def test_pieces_of_two_secrets_side_by_side_are_one_marker() -> None:
    text = f"x {KEY[14:22]}{OTHER[20:28]} y"

    assert redact.scrub(text, KEY, OTHER) == "x [REDACTED] y"


def test_a_quoted_key_with_characters_outside_the_key_alphabet_is_scrubbed_whole() -> None:
    secret = f'"{KEY}~7"'  # pasted with quotes and two more characters
    tail = KEY[-6:] + "~7"  # a piece that only the characters after the key's alphabet make

    assert redact.scrub(f"x {tail} y", secret) == "x [REDACTED] y"


def test_a_piece_of_hyphens_alone_is_scrubbed() -> None:
    assert redact.scrub("x -------- y", "-" * 9) == "x [REDACTED] y"


def test_a_key_shape_after_an_escape_shows_its_prefix() -> None:
    shape = "rgpu_0123abcd_" + "Q" * 20  # no key this process knows

    assert redact.scrub(rf"x \x41 {shape}", KEY) == r"x \x41 rgpu_0123abcd…"


def test_a_word_with_a_hyphen_in_a_secret_of_another_shape_is_not_scrubbed() -> None:
    assert redact.scrub("see remote-g now", "remote-gpu12") == "see remote-g now"


def test_a_piece_said_three_times_is_scrubbed_each_time() -> None:
    piece = KEY[14:22]

    assert redact.scrub(f"{piece}, {piece}, {piece}", KEY) == "[REDACTED], [REDACTED], [REDACTED]"


def test_a_piece_found_again_one_character_on_is_scrubbed_with_it() -> None:
    # Two overlapping finds of one piece, one character apart: both scrubbed, as one marker.
    assert redact.scrub("x 111111111 y", "1" * 10) == "x [REDACTED] y"


def test_an_excerpt_reads_any_bytes_collapses_white_space_and_hides_the_secrets_it_is_given() -> (
    None
):
    secret = "s3cr3t-v4lue-9876"  # not key-shaped: hidden only because it is named

    assert redact.excerpt(b"caf\xe9  is\n\tclosed") == "caf\ufffd is closed"
    assert redact.excerpt(f"token={secret}".encode(), secret) == "token=[REDACTED]"

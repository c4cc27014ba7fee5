"""v2: each note also gets an estimated reading time (schema/0002 adds the column)."""

WORDS_PER_MINUTE = 200


def extra(body: str) -> dict:
    return {"reading_seconds": round(len(body.split()) * 60 / WORDS_PER_MINUTE)}

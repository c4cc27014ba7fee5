"""The schema's statements, in order, each safe to run twice. v2: items get a note."""

STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL,"
    " price_cents INT NOT NULL DEFAULT 0, created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "ALTER TABLE items ADD COLUMN IF NOT EXISTS note VARCHAR(200) NULL",
]

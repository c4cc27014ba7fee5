"""The schema's statements, in order, each safe to run twice (python3 -m shop.migrate runs them)."""

STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL,"
    " price_cents INT NOT NULL DEFAULT 0, created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
]

"""A part's database settings under the names its app reads them by (docs/your-app.md).

A part's `database` is `true` (greenlight's names: DB_HOST, DB_PORT, DB_NAME, DB_USER and
DB_PASSWORD_FILE) or a mapping from what to the app's own variable:

    database: {host: APP_DB_HOST, port: APP_DB_PORT, name: APP_DB_NAME, user: APP_DB_USER,
               password: MYSQL_PASSWORD, url: DATABASE_URL}

`password_file` names a variable that gets the path of the mounted password file;
`password` one that gets the password itself. That one is never written anywhere Docker
shows or keeps (an env file, `docker inspect`, argv, a log): the container starts with
greenlight's small shell script (WRAPPER, mounted read-only) as its entrypoint, which reads
the mounted password file into the variable and then runs the image's own entrypoint and
command (`wrapped`). So an image with such a part needs /bin/sh. `url` gets
mysql://USER@HOST:PORT/NAME, without the password.

The env file's text (`env_text`) is the one rendering of these settings, for the parts, the
migrations and the test data's seed.
"""

from __future__ import annotations

import re

GREENLIGHT_NAMES = {"host": "DB_HOST", "port": "DB_PORT", "name": "DB_NAME", "user": "DB_USER",
                    "password_file": "DB_PASSWORD_FILE"}
KEYS = ("host", "port", "name", "user", "password", "password_file", "url")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Variables the system, the shell or a language runtime reads (and may print, as the loader
# prints a bad LD_PRELOAD): never one of the database's settings, the password least of all.
DENIED = re.compile(r"(LD_\w*|DYLD_\w*|PATH|HOME|IFS|ENV|BASH_ENV|BASH_FUNC\w*|PS[1-4]|SHELL|USER|PWD|TERM|TZ|LANG"
                    r"|LC_\w+|TMPDIR|PYTHON\w*|PERL5\w*|PERLLIB|RUBY\w*|GEM_\w+|NODE_\w*|JAVA_\w*|_JAVA_\w*|JDK_\w*"
                    r"|\w*_OPTIONS|\w*_OPTS|GCONV_PATH|MALLOC_\w+|GLIBC_\w+|HOSTALIASES|RES_OPTIONS|LOCALDOMAIN)")
# Where the script that puts the password into its variable is mounted in a container, and
# the variables that tell it which variable and which file (names and a path: no secret).
WRAPPER = "/run/greenlight/with-password"
VARIABLE, SOURCE = "GREENLIGHT_PASSWORD_VARIABLE", "GREENLIGHT_PASSWORD_SOURCE"
PORT = 3306
CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def names(database: object) -> dict[str, str]:
    """What -> variable for a part's `database` setting: greenlight's names for true, none for false."""
    if database is True:
        return dict(GREENLIGHT_NAMES)
    if isinstance(database, dict):
        return {str(key): str(value) for key, value in database.items()}
    return {}


def problems(where: str, database: object) -> list[str]:
    """The settings check's lines for a part's `database` (plugins/module_utils/settings.py)."""
    if database is None or isinstance(database, bool):
        return []
    if not isinstance(database, dict) or not database:
        return [f"{where} database {database!r}: true, false, or a mapping of what to the variable your app reads "
                f"it from ({', '.join(KEYS)})"]
    found = [f"{where} database.{key}: not one of {', '.join(KEYS)}" for key in database if key not in KEYS]
    found += [f"{where} database.{key} {value!r}: a variable name (A-Z, 0-9 and _)" for key, value in database.items()
              if key in KEYS and not (isinstance(value, str) and ENV_NAME.fullmatch(value))]
    variables = [value for value in database.values() if isinstance(value, str)]
    found += [f"{where} database: {name} is given twice" for name in sorted({v for v in variables if variables.count(v) > 1})]
    found += [f"{where} database.{key} {value}: a name greenlight uses itself" for key, value in database.items()
              if value in (VARIABLE, SOURCE)]
    found += [f"{where} database.{key} {value}: a variable the system or a runtime reads; name one of your app's"
              for key, value in database.items() if isinstance(value, str) and DENIED.fullmatch(value)]
    return found


def env_text(database: object, host: str, name: str, user: str, password_mount: str, port: int = PORT) -> str:
    """The env file of a container with the database: one VARIABLE=value line per setting."""
    values = {"host": host, "port": str(int(port)), "name": name, "user": user, "password_file": password_mount,
              "url": f"mysql://{user}@{host}:{int(port)}/{name}"}
    if any(CONTROL.search(value) for value in values.values()):
        raise ValueError("a database setting holds a control character (a line break would add a variable)")
    lines = []
    for key, variable in names(database).items():
        if key == "password":
            lines += [f"{VARIABLE}={variable}", f"{SOURCE}={password_mount}"]
        else:
            lines.append(f"{variable}={values[key]}")
    return "".join(f"{line}\n" for line in lines)


def password_variable(database: object) -> str:
    """The variable that gets the password itself ('' for none)."""
    return names(database).get("password", "")


def wrapped(entrypoint: list | str | None, cmd: list | str | None, command: list | None) -> tuple[list[str], list[str]]:
    """The entrypoint and command of a container whose password goes into a variable: the
    wrapper, then what the image would run (its entrypoint, and the part's command or the
    image's). Setting an entrypoint makes Docker drop the image's command, so both are given."""
    def words(value: object) -> list[str]:
        if value is None:
            return []
        return [str(value)] if isinstance(value, str) else [str(word) for word in value]
    return ["/bin/sh", WRAPPER], [*words(entrypoint), *(words(command) if command else words(cmd))]

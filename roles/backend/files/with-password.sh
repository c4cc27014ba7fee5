# greenlight's entrypoint for a container whose app reads the database password from a
# variable (plugins/module_utils/database_env.py): the password goes from the mounted file
# into that variable here, in the container's own process, so Docker never holds it (no env
# file, no docker inspect, no argv, no log); then the image's own entrypoint and command run.
set -eu
name="${GREENLIGHT_PASSWORD_VARIABLE:?}"
source_file="${GREENLIGHT_PASSWORD_SOURCE:?}"
case "$name" in
  ''|[0-9]*|*[!A-Za-z0-9_]*) echo "greenlight: $name is not a variable name" >&2; exit 64 ;;
esac
[ -f "$source_file" ] && [ -r "$source_file" ] || { echo "greenlight: cannot read $source_file" >&2; exit 66; }
# Read whole, trailing newlines included (a command substitution would drop them).
value="$(cat "$source_file"; printf x)"
value="${value%x}"
export "$name=$value"
unset GREENLIGHT_PASSWORD_VARIABLE GREENLIGHT_PASSWORD_SOURCE value source_file name
[ "$#" -gt 0 ] || { echo "greenlight: the image has no command to run" >&2; exit 64; }
exec "$@"

"""A Sphinx extension for the reference antsibull-docs writes (docs/conf.py): its pages cite
labels of Ansible's own documentation (common_return_values, ansible.builtin's modules),
which Ansible's site resolves through intersphinx. This site is built offline, so those
labels, and only those, become links to docs.ansible.com; any other missing label is still
an error of the build."""

from docutils import nodes

ANSIBLE = "https://docs.ansible.com/ansible/latest/"
LABELS = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "action_plugins": "plugins/action.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}
BUILTIN = "ansible_collections.ansible.builtin."
OWN_INDEX = {"list_of_collections": "collections/greenlight/deploy/index"}


def resolve(app, env, node, contnode):
    target = node.get("reftarget", "")
    if node.get("refdomain") != "std" or node.get("reftype") != "ref":
        return None
    if target in OWN_INDEX:
        uri = app.builder.get_relative_uri(node["refdoc"], OWN_INDEX[target])
    elif target in LABELS:
        uri = ANSIBLE + LABELS[target]
    elif target.startswith(BUILTIN) and target.endswith("_module"):
        uri = f"{ANSIBLE}collections/ansible/builtin/{target[len(BUILTIN):]}.html"
    else:
        return None
    reference = nodes.reference("", "", internal=target in OWN_INDEX, refuri=uri)
    reference += contnode
    return reference


def setup(app):
    app.connect("missing-reference", resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""A minimal structural validator for the Adaptive Card 1.4 elements mlgov emits.

The official Adaptive Card JSON schema is not available offline (no PyPI package ships it), so
this checks what the 1.4 schema says about the elements we use — AdaptiveCard, TextBlock,
FactSet/Fact, Container and Action.OpenUrl — their allowed properties, types and enum values.
Anything else (a 1.5-only `Table`, `Action.Submit`, a misspelt property) is an error.
"""

from __future__ import annotations

from typing import Any

SPACING = {"None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"}
COLORS = {"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"}
SIZES = {"Default", "Small", "Medium", "Large", "ExtraLarge"}
WEIGHTS = {"Default", "Lighter", "Bolder"}
_COMMON = {"type", "id", "spacing", "separator", "isVisible", "requires", "fallback", "height"}
ELEMENTS: dict[str, dict[str, Any]] = {
    "TextBlock": {
        "required": {"text"},
        "props": _COMMON
        | {"text", "color", "fontType", "horizontalAlignment", "isSubtle", "maxLines", "size", "weight",
           "wrap", "style"},
    },
    "FactSet": {"required": {"facts"}, "props": _COMMON | {"facts"}},
    "Container": {
        "required": {"items"},
        "props": _COMMON | {"items", "selectAction", "style", "verticalContentAlignment", "bleed",
                            "backgroundImage", "minHeight", "rtl"},
    },
}
ACTIONS = {"Action.OpenUrl": {"required": {"url"}, "props": {"type", "url", "title", "iconUrl", "id", "style"}}}
CARD_PROPS = {"type", "version", "body", "actions", "$schema", "msteams", "fallbackText", "speak", "lang",
              "minHeight", "verticalContentAlignment", "selectAction", "backgroundImage", "rtl"}


def validate_message(message: Any) -> list[str]:
    """Errors in a Teams Workflows message envelope with one Adaptive Card 1.4 attachment."""
    errors: list[str] = []
    if not isinstance(message, dict) or message.get("type") != "message":
        return ["envelope: type must be 'message'"]
    atts = message.get("attachments")
    if not isinstance(atts, list) or len(atts) != 1:
        return ["envelope: exactly one attachment expected"]
    att = atts[0]
    if att.get("contentType") != "application/vnd.microsoft.card.adaptive":
        errors.append("attachment: wrong contentType")
    errors.extend(validate_card(att.get("content")))
    return errors


def validate_card(card: Any) -> list[str]:
    """Errors in an Adaptive Card restricted to the 1.4 elements above."""
    errors: list[str] = []
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return ["card: type must be AdaptiveCard"]
    if card.get("version") != "1.4":
        errors.append(f"card: version {card.get('version')!r}, expected '1.4'")
    for key in card:
        if key not in CARD_PROPS:
            errors.append(f"card: unknown property {key}")
    body = card.get("body", [])
    if not isinstance(body, list):
        errors.append("card: body must be a list")
    else:
        for i, element in enumerate(body):
            errors.extend(_element(element, f"body[{i}]"))
    for i, action in enumerate(card.get("actions", [])):
        errors.extend(_action(action, f"actions[{i}]"))
    return errors


def _element(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"{where}: not an object"]
    kind = element.get("type")
    spec = ELEMENTS.get(kind)  # type: ignore[arg-type]
    if spec is None:
        return [f"{where}: element type {kind!r} is not an Adaptive Card 1.4 element we allow"]
    errors = [f"{where}: missing {r}" for r in spec["required"] if r not in element]
    errors += [f"{where}: unknown property {k} for {kind}" for k in element if k not in spec["props"]]
    if "spacing" in element and element["spacing"] not in SPACING:
        errors.append(f"{where}: bad spacing {element['spacing']!r}")
    for flag in ("separator", "wrap", "isSubtle", "isVisible"):
        if flag in element and not isinstance(element[flag], bool):
            errors.append(f"{where}: {flag} must be a boolean")
    if kind == "TextBlock":
        if not isinstance(element.get("text"), str) or not element["text"]:
            errors.append(f"{where}: text must be a non-empty string")
        for prop, allowed in (("color", COLORS), ("size", SIZES), ("weight", WEIGHTS)):
            if prop in element and element[prop] not in allowed:
                errors.append(f"{where}: bad {prop} {element[prop]!r}")
    elif kind == "FactSet":
        facts = element.get("facts")
        if not isinstance(facts, list) or not facts:
            errors.append(f"{where}: facts must be a non-empty list")
        else:
            for j, fact in enumerate(facts):
                if set(fact) != {"title", "value"} or not all(isinstance(v, str) for v in fact.values()):
                    errors.append(f"{where}.facts[{j}]: a Fact has exactly a string title and value")
    elif kind == "Container":
        items = element.get("items")
        if not isinstance(items, list):
            errors.append(f"{where}: items must be a list")
        else:
            for j, item in enumerate(items):
                errors.extend(_element(item, f"{where}.items[{j}]"))
    return errors


def _action(action: Any, where: str) -> list[str]:
    if not isinstance(action, dict):
        return [f"{where}: not an object"]
    spec = ACTIONS.get(action.get("type"))  # type: ignore[arg-type]
    if spec is None:
        return [f"{where}: action type {action.get('type')!r} not allowed (Teams webhooks: Action.OpenUrl)"]
    errors = [f"{where}: missing {r}" for r in spec["required"] if r not in action]
    errors += [f"{where}: unknown property {k}" for k in action if k not in spec["props"]]
    if not str(action.get("url", "")).startswith(("https://", "http://")):
        errors.append(f"{where}: url must be absolute http(s)")
    return errors

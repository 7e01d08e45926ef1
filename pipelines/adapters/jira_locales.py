"""Jira's CSV export headers and status words in Spanish, German, French and Portuguese.

Jira writes the export's column names in the exporting user's language (`Clave de incidencia`,
`Creada`, `Resuelta` for Spanish), so each known translation is read as the English name the
adapter expects. The lists hold the names of the Jira Cloud and Data Center translations as we
know them; an export using a name not listed is refused with the closest format and its missing
columns, and `sources.tickets.files` or a custom mapping reads it meanwhile.
"""

from __future__ import annotations

import re

from pipelines.read import REPEATED_MARK

# Localized header (lower case) -> the English header (lower case).
HEADERS: dict[str, str] = {
    # Spanish
    "clave de incidencia": "issue key", "clave de la incidencia": "issue key",
    "id de la incidencia": "issue id", "id de incidencia": "issue id",
    "resumen": "summary", "tipo de incidencia": "issue type", "estado": "status",
    "prioridad": "priority", "responsable": "assignee", "informador": "reporter",
    "creada": "created", "creado": "created", "actualizada": "updated",
    "resuelta": "resolved", "resuelto": "resolved", "resolución": "resolution",
    "etiquetas": "labels", "comentario": "comment",
    # German
    "schlüssel": "issue key", "vorgangsschlüssel": "issue key", "vorgangs-id": "issue id",
    "vorgangs id": "issue id", "zusammenfassung": "summary", "vorgangstyp": "issue type",
    "priorität": "priority", "bearbeiter": "assignee", "autor": "reporter",
    "erstellt": "created", "aktualisiert": "updated", "erledigt": "resolved",
    "gelöst": "resolved", "lösung": "resolution", "stichwörter": "labels",
    "kommentar": "comment",
    # French
    "clé de ticket": "issue key", "clé du ticket": "issue key", "id de ticket": "issue id",
    "id du ticket": "issue id", "résumé": "summary", "type de ticket": "issue type",
    "état": "status", "statut": "status", "priorité": "priority", "rapporteur": "reporter",
    "création": "created", "créé": "created", "mise à jour": "updated", "résolue": "resolved",
    "résolu": "resolved", "résolution": "resolution", "étiquettes": "labels",
    "commentaire": "comment",
    # Portuguese
    "chave do item": "issue key", "chave da item": "issue key", "chave": "issue key",
    "id do item": "issue id", "id da item": "issue id", "resumo": "summary",
    "tipo de item": "issue type", "prioridade": "priority", "responsável": "assignee",
    "relator": "reporter", "criado": "created", "atualizado": "updated",
    "resolvido": "resolved", "resolução": "resolution", "rótulos": "labels",
    "comentário": "comment",
}  # fmt: skip
# `Campo personalizado (Request Type)` and its kin are `Custom field (Request Type)`.
_CUSTOM_FIELD = re.compile(r"^(campo personalizado|benutzerdefiniertes feld|champ personnalisé) \(")

# Localized status words (lower case) -> canonical status.
STATUSES: dict[str, str] = {
    # Spanish
    "tareas por hacer": "open", "por hacer": "open", "abierta": "open", "abierto": "open",
    "en curso": "open", "en progreso": "open", "reabierta": "open",
    "esperando al cliente": "pending", "esperando por el cliente": "pending",
    "resuelta": "solved", "resuelto": "solved", "listo": "solved", "hecho": "solved",
    "cerrada": "closed", "cerrado": "closed",
    # German
    "zu erledigen": "open", "offen": "open", "in arbeit": "open", "wieder geöffnet": "open",
    "warten auf kunden": "pending", "wartet auf kunden": "pending", "erledigt": "solved",
    "gelöst": "solved", "fertig": "solved", "geschlossen": "closed",
    # French
    "à faire": "open", "ouvert": "open", "ouverte": "open", "en cours": "open",
    "rouvert": "open", "en attente du client": "pending", "résolu": "solved",
    "résolue": "solved", "terminé": "solved", "fermé": "closed", "fermée": "closed",
    # Portuguese
    "itens pendentes": "open", "a fazer": "open", "aberto": "open", "em andamento": "open",
    "reaberto": "open", "aguardando cliente": "pending", "aguardando o cliente": "pending",
    "resolvido": "solved", "concluído": "solved", "fechado": "closed",
}  # fmt: skip


def english_header(column: str) -> str:
    """A header of a Jira export as the English header (numbered repeats keep their number:
    `etiquetas__2` -> `labels__2`); a name not known as a translation is returned unchanged."""
    head, mark, number = column.rpartition(REPEATED_MARK)
    base, suffix = (head, f"{mark}{number}") if head and number.isdigit() else (column, "")
    english = HEADERS.get(base, base)
    english = _CUSTOM_FIELD.sub("custom field (", english)
    return english + suffix


def english_headers(columns: list[str]) -> dict[str, str]:
    """The renames that make a localized export's headers English (an English header the file
    already has is never overwritten)."""
    present = set(columns)
    renames: dict[str, str] = {}
    for column in columns:
        english = english_header(column)
        if english != column and english not in present and english not in renames.values():
            renames[column] = english
    return renames

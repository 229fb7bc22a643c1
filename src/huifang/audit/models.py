"""The append-only, hash-chained audit trail (NFR-2).

One ``AuditEvent`` per single change; one per bulk change, carrying the SHA-256
of the change set that the bulk writer put in a history table. Each row holds the
hash of the previous row of its chain. Database triggers refuse UPDATE and DELETE.

On PostgreSQL the trail is several interleaved chains (``chain``, see
``audit.services``): a transaction appends to the chain of its connection, so that
concurrent requests do not queue behind one lock. Each chain links in id order from
the genesis hash; ``audit verify`` walks every chain.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One audited action. ``hash`` = SHA-256 of the canonical row including ``prev_hash``."""

    at = models.DateTimeField(_("时间(UTC)"))
    actor = models.CharField(_("操作人"), max_length=150)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(_("动作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象"), max_length=128, blank=True)
    branch_code = models.CharField(_("机构"), max_length=32, blank=True, db_index=True)
    before = models.JSONField(_("变更前"), null=True, blank=True)
    after = models.JSONField(_("变更后"), null=True, blank=True)
    changeset_table = models.CharField(max_length=64, blank=True)
    changeset_key = models.JSONField(null=True, blank=True)
    changeset_rows = models.BigIntegerField(default=0)
    changeset_sha256 = models.CharField(max_length=64, blank=True)
    # Not part of the hashed fields: moving a row to another chain breaks both chains' links.
    chain = models.PositiveSmallIntegerField(_("链"), default=0)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["chain", "-id"], name="audit_chain_last"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id} by {self.actor}"

"""Privacy: masking personal data for roles that may not see it.

- :func:`mask_profile` and :func:`mask_summary` hide names, contact details, addresses and free
  text in a profile document and in a search hit.
- :data:`PERSONAL_ID_TYPES` are the identifier types such a role may not look customers up by.
"""

from __future__ import annotations

from insightloop.privacy.masking import (
    MASK,
    PERSONAL_ID_TYPES,
    mask_email,
    mask_phone,
    mask_profile,
    mask_summary,
)

__all__ = ["MASK", "PERSONAL_ID_TYPES", "mask_email", "mask_phone", "mask_profile", "mask_summary"]

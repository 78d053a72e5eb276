"""Beneficiary cards (issue 19): the signed card token, issuing, reissuing and revoking with history, the printed
ID-1 card, and what a scanned token leads to (the citizen page, the desk's intake, the kiosk)."""

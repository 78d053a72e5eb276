"""Letters to ministries (issue 16): the outgoing register, the printed letter, the replies, the list of letters
awaiting a reply."""

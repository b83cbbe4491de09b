"""The inter-municipal salon (issue #20): municipalities as tenants, their staff's identities
(invitations, OpenID Connect), and, later, the salon's spaces and events."""

"""The Genesys Cloud part of the REST API: settings nested in endpoints, OAuth2 connections."""

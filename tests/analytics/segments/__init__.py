"""Tests of insightloop.analytics.segments."""

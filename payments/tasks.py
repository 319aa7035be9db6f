"""Celery entry points of the payments module (autodiscovered), gathered from its areas."""

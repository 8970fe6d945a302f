"""Thin Airflow DAG files; each task calls one function of pipeline.stages."""

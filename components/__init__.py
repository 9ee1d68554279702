"""One module per ComponentResource of the airflow-aks stack."""

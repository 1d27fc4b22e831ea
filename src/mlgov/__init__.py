"""mlgov: governance and FinOps audits for Azure Machine Learning and Azure Databricks.

Nothing runs at import time: no clients, no I/O, no configuration reads.
"""

__version__ = "0.1.0"

"""The CUDA target's function printer: the C family's, with its tables in constant memory."""
from ..cfamily import FunctionPrinter


class CudaPrinter(FunctionPrinter):
    table_qualifier = "IRGEN_TABLE"

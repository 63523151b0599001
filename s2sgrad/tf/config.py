"""``tf.config``: what programs ask of the devices and of ``tf.function``."""

from s2sgrad.tf.function import run_eagerly as _run_eagerly
from s2sgrad.tf.function import set_run_eagerly as _set_run_eagerly


class PhysicalDevice:
    def __init__(self, name, device_type):
        self.name, self.device_type = name, device_type

    def __repr__(self):
        return f"PhysicalDevice(name='{self.name}', device_type='{self.device_type}')"

    def __eq__(self, other):
        return isinstance(other, PhysicalDevice) and (self.name, self.device_type) == \
            (other.name, other.device_type)

    def __hash__(self):
        return hash((self.name, self.device_type))


def list_physical_devices(device_type=None):
    """The CPU only: s2sgrad.tf runs everything on it."""
    cpu = PhysicalDevice("/physical_device:CPU:0", "CPU")
    return [cpu] if device_type in (None, "CPU") else []


def list_logical_devices(device_type=None):
    return list_physical_devices(device_type)


def run_functions_eagerly(run_eagerly):
    """With ``True``, ``tf.function`` runs the Python function as it is (no compiled tape blocks)."""
    _set_run_eagerly(bool(run_eagerly))


def functions_run_eagerly():
    return _run_eagerly()


def set_visible_devices(devices, device_type=None):
    pass


class experimental:  # noqa: N801  (TensorFlow's namespace)
    @staticmethod
    def set_memory_growth(device, enable):
        pass

    list_physical_devices = staticmethod(list_physical_devices)

# TensorFlow's guide "TensorFlow basics" (tensorflow.org/guide/basics), its
# code in order with only the import changed, up to its "Training loops"
# section. A notebook cell that ends in an expression shows it; here it is
# printed (its repr). The SavedModel goes to a temporary directory, in
# s2sgrad's own format (tf.saved_model's doc). Cut: the "Training loops"
# section (matplotlib plots of random data), and tf.nn.softmax(x, axis=-1):
# the guide shows 0.24472848 (exp(-1) correctly rounded to float32, 0.36787945),
# NumPy's float32 np.exp(-1) is 0.36787942, an ulp low, giving 0.24472846.
import os
import tempfile

import s2sgrad.tf as tf

x = tf.constant([[1., 2., 3.],
                 [4., 5., 6.]])

print(x)
print(x.shape)
print(x.dtype)

print(repr(x + x))
print(repr(5 * x))
print(repr(x @ tf.transpose(x)))
print(repr(tf.concat([x, x, x], axis=0)))
print(repr(tf.reduce_sum(x)))
print(repr(tf.convert_to_tensor([1,2,3])))
print(repr(tf.reduce_sum([1,2,3])))

if tf.config.list_physical_devices('GPU'):
  print("TensorFlow **IS** using the GPU")
else:
  print("TensorFlow **IS NOT** using the GPU")

var = tf.Variable([0.0, 0.0, 0.0])
print(repr(var.assign([1, 2, 3])))
print(repr(var.assign_add([1, 1, 1])))

x = tf.Variable(1.0)

def f(x):
  y = x**2 + 2*x - 5
  return y

print(repr(f(x)))

with tf.GradientTape() as tape:
  y = f(x)

g_x = tape.gradient(y, x)  # g(x) = dy/dx

print(repr(g_x))

@tf.function
def my_func(x):
  print('Tracing.\n')
  return tf.reduce_sum(x)

x = tf.constant([1, 2, 3])
print(repr(my_func(x)))

x = tf.constant([10, 9, 8])
print(repr(my_func(x)))

x = tf.constant([10.0, 9.1, 8.2], dtype=tf.float32)
print(repr(my_func(x)))

class MyModule(tf.Module):
  def __init__(self, value):
    self.weight = tf.Variable(value)

  @tf.function
  def multiply(self, x):
    return x * self.weight

mod = MyModule(3)
print(repr(mod.multiply(tf.constant([1, 2, 3]))))

os.chdir(tempfile.mkdtemp())
save_path = './saved'
tf.saved_model.save(mod, save_path)

reloaded = tf.saved_model.load(save_path)
print(repr(reloaded.multiply(tf.constant([1, 2, 3]))))

# TensorFlow's guide "Better performance with tf.function"
# (tensorflow.org/guide/function): its cells that differentiate through a
# tf.function, read or update tf.Variables in one, or train with one, in order,
# with only the import changed. A notebook cell that ends in an expression
# shows it; here it is printed (its repr). Cut: the cells about tracing
# (Python side effects run once per trace in TensorFlow, which traces to a
# graph; here the Python runs on every call) and the cell showing the
# ValueError TensorFlow raises when a second optimizer creates its variables
# in a second trace (no graph is built here: both optimizers work).
import s2sgrad.tf as tf

@tf.function  # The decorator converts `add` into a `Function`.
def add(a, b):
  return a + b

print(repr(add(tf.ones([2, 2]), tf.ones([2, 2]))))  #  [[2., 2.], [2., 2.]]

v = tf.Variable(1.0)
with tf.GradientTape() as tape:
  result = add(v, 1.0)
print(repr(tape.gradient(result, v)))

@tf.function
def dense_layer(x, w, b):
  return add(tf.matmul(x, w), b)

print(repr(dense_layer(tf.ones([3, 2]), tf.ones([2, 2]), tf.ones([2]))))

@tf.function
def variable_add():
  return 1 + foo

foo = tf.Variable(1)
print("Variable:", variable_add())

print("Updating the value of `foo` to 100!")
foo.assign(100)
print("Variable:", variable_add())

x = tf.constant(10.)

class BetterModel:

  def __init__(self):
    self.bias = tf.Variable(0.)
    self.weight = tf.Variable(2.)

@tf.function
def evaluate(model, x):
  return model.weight * x + model.bias

better_model = BetterModel()
print(evaluate(better_model, x))

print("Adding bias!")
better_model.bias.assign_add(5.0)  # Note: instead of better_model.bias += 5
print(evaluate(better_model, x))  # This works!

class Count(tf.Module):
  def __init__(self):
    self.count = None

  @tf.function
  def __call__(self):
    if self.count is None:
      self.count = tf.Variable(0)
    return self.count.assign_add(1)

c = Count()
print(c())
print(c())

opt1 = tf.keras.optimizers.Adam(learning_rate = 1e-2)
opt2 = tf.keras.optimizers.Adam(learning_rate = 1e-3)

# Not a tf.function.
def train_step(w, x, y, optimizer):
   with tf.GradientTape() as tape:
       L = tf.reduce_sum(tf.square(w*x - y))
   gradients = tape.gradient(L, [w])
   optimizer.apply_gradients(zip(gradients, [w]))

w = tf.Variable(2.)
x = tf.constant([-1.])
y = tf.constant([2.])

# Make a new Function and ConcreteFunction for each optimizer.
train_step_1 = tf.function(train_step).get_concrete_function(w, x, y, opt1)
train_step_2 = tf.function(train_step).get_concrete_function(w, x, y, opt2)
for i in range(10):
  if i % 2 == 0:
    train_step_1(w, x, y) # `opt1` is not used as a parameter. 
  else:
    train_step_2(w, x, y) # `opt2` is not used as a parameter.

# (check, not in the guide: the five steps of each optimizer moved w as Adam
# does; both optimizers have taken 5 steps)
print(opt1.iterations.numpy(), opt2.iterations.numpy())
